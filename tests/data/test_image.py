import numpy as np
import pytest

from medlearn.data.image import MedImage, Window
from medlearn.errors import MedlearnInputError


def test_grey_2d_defaults():
    img = MedImage(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert img.spatial_dims == 2 and img.spacing == (1.0, 1.0) and not img.is_rgb
    assert img.window.width > 0


def test_colour_picture_is_2d():
    img = MedImage(np.zeros((8, 8, 3), np.uint8) + 7, modality="OP")
    assert img.is_rgb and img.spatial_dims == 2 and img.spatial_shape == (8, 8)
    assert img.windowed().max() <= 1.0


def test_volume_with_three_slices_in_x_is_3d_for_ct():
    img = MedImage(np.zeros((10, 10, 3), np.int16) - 1000, modality="CT", spacing=(2.0, 0.7, 0.7))
    assert img.spatial_dims == 3 and not img.is_rgb


def test_window_maps_to_unit_range():
    img = MedImage(np.array([[-1000, -600, 150]], np.float32), modality="CT", window=Window(-600, 1500))
    out = img.windowed()
    assert out[0, 1] == pytest.approx(0.5) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("bad", [np.array([[np.nan, 1.0], [2.0, 3.0]]), np.array([[np.inf, 1.0], [-np.inf, 3.0]])])
def test_non_finite_pixels_are_replaced_and_said(bad):
    image = MedImage(bad)
    assert np.isfinite(image.pixels).all() and image.pixels.min() == 1.0
    assert any("NaN or infinite" in n for n in image.reading_notes())
    with pytest.raises(MedlearnInputError, match="no finite values"):
        MedImage(np.full((2, 2), np.nan))


def test_spacing_must_match_dims():
    with pytest.raises(MedlearnInputError):
        MedImage(np.zeros((4, 4)), spacing=(1.0, 1.0, 1.0))


def test_describe_is_json_ready():
    import json

    d = MedImage(np.ones((2, 3, 4), np.float32), modality="MR").describe()
    json.dumps(d)
    assert d["shape"] == [2, 3, 4] and d["spatial_dims"] == 3


def test_spacing_known_only_when_a_spacing_is_given():
    assert MedImage(np.zeros((4, 5))).spacing_known is False  # a picture: 1 mm stands in for pixels
    assert MedImage(np.zeros((4, 5)), spacing=(0.5, 0.5)).spacing_known is True
    assert MedImage(np.zeros((4, 5)), spacing=(1.0, 1.0), spacing_known=False).spacing_known is False
    assert MedImage(np.zeros((2, 4, 5)), modality="MR").describe()["spacing_known"] is False


def test_affine_must_be_a_finite_4x4():
    with pytest.raises(MedlearnInputError, match="4x4"):
        MedImage(np.zeros((2, 3, 4)), affine=np.eye(3))
    with pytest.raises(MedlearnInputError, match="finite"):
        MedImage(np.zeros((2, 3, 4)), affine=np.full((4, 4), np.nan))


def test_with_pixels_keeps_geometry_while_it_still_fits():
    import json

    affine = np.array([[0, 0, 0.8, -10], [0, 0.7, 0, 5], [2.5, 0, 0, 30], [0, 0, 0, 1.0]])
    img = MedImage(np.zeros((2, 3, 4), np.float32), spacing=(2.5, 0.7, 0.8), modality="MR", affine=affine)
    same = img.with_pixels(np.ones((2, 3, 4), np.float32), window=None)
    np.testing.assert_array_equal(same.affine, affine)
    assert same.spacing_known and same.spacing == img.spacing
    assert img.with_pixels(np.ones((2, 3, 5), np.float32)).affine is None  # another grid
    assert img.with_pixels(img.pixels, spacing=(1.0, 1.0, 1.0)).affine is None  # other voxel sizes
    picture = MedImage(np.zeros((4, 5), np.uint8))
    assert picture.with_pixels(picture.pixels).spacing_known is False
    assert picture.with_pixels(picture.pixels, spacing=(0.2, 0.2)).spacing_known is True
    d = img.describe()
    json.dumps(d)
    assert d["affine"] == affine.tolist() and d["spacing_known"] is True


def test_a_large_image_is_kept_downsampled_with_its_voxel_size_scaled():
    from medlearn.data.image import MedImage, downsampled

    vol = MedImage(np.arange(40 * 64 * 64, dtype=np.int16).reshape(40, 64, 64), spacing=(2.0, 0.5, 0.5),
                   modality="CT")
    assert downsampled(vol, vol.pixels.size) is vol  # small enough: the same object
    small = downsampled(vol, vol.pixels.size // 8)
    assert small.shape == (20, 32, 32) and small.pixels.dtype == np.int16
    assert small.spacing == pytest.approx((4.0, 1.0, 1.0)) and small.spacing_known
    assert np.prod(small.shape) * np.prod(small.spacing) == pytest.approx(np.prod(vol.shape) * np.prod(vol.spacing))
    assert any("Kept at 20 x 32 x 32" in n for n in small.reading_notes())
    photo = MedImage(np.zeros((400, 300, 3), np.uint8), modality="XC")
    kept = downsampled(photo, 30_000)
    assert kept.is_rgb and kept.shape == (200, 150, 3) and "no physical size" in kept.reading_notes()[-1]


def test_a_window_computed_from_non_finite_values_is_recomputed_from_the_pixels():
    pixels = np.arange(16, dtype=np.float32).reshape(4, 4)
    pixels[0, 0] = np.inf
    image = MedImage(pixels, window=Window(float("inf"), float("inf"), "auto"))
    assert np.isfinite(image.window.center) and np.isfinite(image.window.width) and image.window.width > 0
