"""Writers: save_image / save_mask round-trip through read_image."""

import nibabel as nib
import numpy as np
import pytest

from medlearn.data.image import MedImage, Window
from medlearn.data.io import read_image, save_image, save_mask
from medlearn.errors import MedlearnInputError

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_grey_round_trip(tmp_path, dtype):
    arr = RNG.integers(0, np.iinfo(dtype).max, (7, 9)).astype(dtype)
    out = read_image(save_image(MedImage(arr), tmp_path / "g.png"))
    assert out.pixels.dtype == dtype
    np.testing.assert_array_equal(out.pixels, arr)


def test_png_rgb_round_trip(tmp_path):
    arr = RNG.integers(0, 255, (6, 5, 3)).astype(np.uint8)
    out = read_image(save_image(MedImage(arr, modality="OP"), tmp_path / "c.png"))
    assert out.is_rgb
    np.testing.assert_array_equal(out.pixels, arr)


def test_png_of_hounsfield_uses_the_window(tmp_path):
    ct = MedImage(np.array([[-1000.0, 40.0, 2000.0]] * 2, np.float32), modality="CT", window=Window(40, 400))
    out = read_image(save_image(ct, tmp_path / "ct.png"))
    assert out.pixels.tolist() == [[0, 128, 255]] * 2


@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_nifti_round_trip(tmp_path, ext):
    vol = MedImage(RNG.normal(size=(4, 5, 6)).astype(np.float32), spacing=(3.0, 1.5, 0.7), modality="MR",
                   orientation="RAS")
    out = read_image(save_image(vol, tmp_path / f"v{ext}"))
    assert out.shape == (4, 5, 6) and out.spacing == pytest.approx((3.0, 1.5, 0.7)) and out.orientation == "RAS"
    np.testing.assert_array_equal(out.pixels, vol.pixels)


def test_nifti_from_lps_series_keeps_anatomy(tmp_path):
    vol = MedImage(np.arange(24, dtype=np.int16).reshape(2, 3, 4), spacing=(2.0, 1.0, 1.0), modality="CT",
                   orientation="LPS")
    path = save_image(vol, tmp_path / "ct.nii.gz")
    assert nib.aff2axcodes(nib.load(path).affine) == ("L", "P", "S")
    out = read_image(path)  # canonical RAS: x and y flipped, z kept
    np.testing.assert_array_equal(out.pixels, vol.pixels[:, ::-1, ::-1])


def test_npy_round_trip(tmp_path):
    arr = RNG.integers(-5, 5, (3, 4, 5)).astype(np.int16)
    np.testing.assert_array_equal(read_image(save_image(MedImage(arr, modality="CT"), tmp_path / "a.npy")).pixels, arr)


def test_mask_round_trips(tmp_path):
    mask2 = np.zeros((6, 7), np.int64)
    mask2[2:4, 3:5] = 2
    out = read_image(save_mask(mask2, (0.5, 0.5), tmp_path / "m.png"))
    assert out.pixels.dtype == np.uint8 and set(np.unique(out.pixels)) == {0, 2}
    np.testing.assert_array_equal(out.pixels, mask2)
    mask3 = (RNG.random((3, 4, 5)) > 0.5).astype(np.uint8)
    out3 = read_image(save_mask(mask3, (2.0, 1.0, 1.0), tmp_path / "sub" / "m.nii.gz"))
    np.testing.assert_array_equal(out3.pixels, mask3)
    assert out3.spacing == (2.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda p: save_image(MedImage(np.zeros((2, 3, 4)), modality="MR"), p / "v.png"), "3D volume"),
        (lambda p: save_image(MedImage(np.zeros((2, 3))), p / "v.bmp"), "use a .png"),
        (lambda p: save_image(MedImage(np.zeros((4, 4, 3), np.uint8)), p / "c.nii"), "colour"),
        (lambda p: save_mask(np.array([[0, -1]]), None, p / "m.png"), "negative"),
        (lambda p: save_mask(np.array([[0.5, 1]]), None, p / "m.png"), "fractions"),
        (lambda p: save_mask(np.zeros((2, 2)), (1.0,), p / "m.png"), "does not match"),
        (lambda p: save_mask(np.full((2, 2), 300), None, p / "m.png"), "up to 255"),
    ],
)
def test_write_errors(tmp_path, call, words):
    with pytest.raises(MedlearnInputError, match=words):
        call(tmp_path)


@pytest.mark.parametrize("shape, why", [((1, 1), "at least 2 pixels"), ((1, 4000), "at least 2 pixels"),
                                        ((3, 100), "more than 20 times longer")])
def test_degenerate_pictures_are_refused_with_the_reason(tmp_path, shape, why):
    """Once seen: a 1 x 100000 picture made the page 231,538 px tall, and 1 x 1 got a diagnosis."""
    from PIL import Image

    from medlearn.errors import MedlearnInputError

    path = tmp_path / "odd.png"
    Image.fromarray(np.zeros(shape, np.uint8)).save(path)
    with pytest.raises(MedlearnInputError, match=why):
        read_image(path)


def test_a_png_with_corrupt_image_data_is_refused_not_decoded_to_noise(tmp_path):
    """Once seen: a PNG with a bad IDAT checksum was decoded and given a diagnosis."""
    import io

    from PIL import Image

    from medlearn.errors import MedlearnInputError

    buf = io.BytesIO()
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64).astype(np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    at = data.index(b"IDAT") + 20
    data[at] ^= 0xFF  # one damaged byte inside the image data
    with pytest.raises(MedlearnInputError, match="'IDAT' chunk fails its checksum"):
        read_image(bytes(data), "damaged.png")
    assert read_image(buf.getvalue(), "fine.png").shape == (64, 64)
