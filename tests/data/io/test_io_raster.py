"""PNG / JPEG / TIFF readers: modes, bit depths, limits and damaged files."""

import importlib.util
import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from medlearn.data.io import MAX_PIXELS_2D, read_image
from medlearn.errors import MedlearnInputError

RNG = np.random.default_rng(0)


def _png(arr_or_image, **kw) -> bytes:
    im = arr_or_image if isinstance(arr_or_image, Image.Image) else Image.fromarray(arr_or_image)
    buf = io.BytesIO()
    im.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def test_grey_png_from_path(tmp_path):
    arr = RNG.integers(0, 255, (20, 30), dtype=np.uint8)
    path = tmp_path / "grey.png"
    path.write_bytes(_png(arr))
    img = read_image(path)
    assert img.shape == (20, 30) and img.pixels.dtype == np.uint8
    np.testing.assert_array_equal(img.pixels, arr)
    assert (img.format, img.modality, img.orientation, img.source) == ("png", "OT", "2D", "grey.png")
    assert img.spacing == (1.0, 1.0) and not img.is_rgb


def test_16bit_png_stays_uint16():
    arr = (np.arange(600, dtype=np.uint16).reshape(20, 30) * 100)
    img = read_image(_png(arr), "ct.png")
    assert img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, arr)


def test_rgba_drops_alpha_and_rgb_is_colour():
    rgba = RNG.integers(0, 255, (10, 12, 4), dtype=np.uint8)
    img = read_image(_png(Image.fromarray(rgba, "RGBA")), "a.png")
    assert img.shape == (10, 12, 3) and img.is_rgb and img.pixels.dtype == np.uint8
    np.testing.assert_array_equal(img.pixels, rgba[..., :3])
    assert img.meta["alpha_dropped"] is True


def test_palette_png_is_expanded():
    pal = Image.fromarray(RNG.integers(0, 255, (8, 8, 3), dtype=np.uint8)).convert("P", palette=Image.ADAPTIVE)
    img = read_image(_png(pal), "p.png")
    assert img.is_rgb and img.shape == (8, 8, 3)
    np.testing.assert_array_equal(img.pixels, np.asarray(pal.convert("RGB")))
    grey_pal = Image.fromarray(RNG.integers(0, 255, (8, 8), dtype=np.uint8)).convert("P")
    assert read_image(_png(grey_pal), "g.png").shape == (8, 8)  # a grey palette stays grey


def test_jpeg_colour():
    arr = np.full((16, 16, 3), (200, 30, 40), np.uint8)
    img = read_image(_png(arr, format="JPEG", quality=95), "eye.jpg")
    assert img.format == "jpeg" and img.shape == (16, 16, 3)
    assert abs(int(img.pixels[8, 8, 0]) - 200) < 6


def test_tiff_16bit_grey_rgb_and_stack(tmp_path):
    grey = RNG.integers(0, 65535, (9, 7), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "g.tif", grey)
    img = read_image(tmp_path / "g.tif")
    assert img.format == "tiff" and img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, grey)
    rgb = RNG.integers(0, 255, (9, 7, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "c.tiff", rgb, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "c.tiff").pixels, rgb)
    stack = RNG.integers(0, 255, (4, 9, 7), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    vol = read_image(tmp_path / "s.tif")
    assert vol.shape == (4, 9, 7) and vol.spatial_dims == 3


def test_lzw_tiff_falls_back_to_pillow():
    arr = RNG.integers(0, 255, (12, 10), dtype=np.uint8)
    data = _png(arr, format="TIFF", compression="tiff_lzw")
    np.testing.assert_array_equal(read_image(data, "lzw.tif").pixels, arr)


def test_extension_mismatch_is_read_by_content():
    img = read_image(_png(np.zeros((5, 5), np.uint8)), "really_a_png.jpg")
    assert img.format == "png"
    assert "jpeg" in img.meta["extension_mismatch"] and "png" in img.meta["extension_mismatch"]


@pytest.mark.parametrize(
    "data, name, words",
    [
        (b"", "empty.png", "empty"),
        (b"just some text, not pixels", "notes.png", "wrong extension"),
        (b"just some text, not pixels", "notes.txt", "not an image format"),
    ],
)
def test_bad_files(data, name, words):
    with pytest.raises(MedlearnInputError, match=words):
        read_image(data, name)


def test_truncated_png():
    data = _png(RNG.integers(0, 255, (64, 64), dtype=np.uint8))
    with pytest.raises(MedlearnInputError, match="damaged|truncated"):
        read_image(data[: len(data) // 2], "cut.png")


def _patch_ihdr(png: bytes, width: int, height: int) -> bytes:
    """A PNG whose header claims another size (a decompression bomb's trick)."""
    ihdr = bytearray(png[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    return png[:16] + bytes(ihdr) + crc + png[33:]


def test_decompression_bomb_refused_before_decoding():
    bomb = _patch_ihdr(_png(np.zeros((4, 4), np.uint8)), 10_000, 5_000)
    assert 10_000 * 5_000 > MAX_PIXELS_2D
    with pytest.raises(MedlearnInputError, match="pixels"):
        read_image(bomb, "bomb.png")


def _tiff(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_a_truncated_tiff_says_it_is_truncated(tmp_path, compression):
    """Once seen: a TIFF cut in half asked to install imagecodecs."""
    whole = _tiff(RNG.integers(0, 255, (64, 64), dtype=np.uint8), compression=compression)
    cut = whole[: len(whole) // 2]
    (tmp_path / "cut.tif").write_bytes(cut)
    for source, name in ((cut, "cut.tif"), (tmp_path / "cut.tif", None)):
        with pytest.raises(MedlearnInputError, match=r"truncated \(incomplete\).*ends at byte") as caught:
            read_image(source, name)
        assert "imagecodecs" not in str(caught.value)


def test_a_tiff_stack_cut_short_is_refused_not_shown_in_part(capfd):
    """Once seen: a stack cut after its first page was read as a single picture, and tifffile
    printed 'invalid page offset' on the terminal."""
    whole = _tiff(RNG.integers(0, 255, (5, 64, 64), dtype=np.uint8))
    with pytest.raises(MedlearnInputError, match="truncated or damaged: its list of pages breaks off after page 1"):
        read_image(whole[: len(whole) // 2], "stack.tif")
    assert capfd.readouterr().err == ""


def test_a_tiff_compression_without_a_decoder_is_named():
    if importlib.util.find_spec("imagecodecs"):
        pytest.skip("imagecodecs is installed: LERC would decode")
    buf = io.BytesIO(_tiff(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)))
    with tifffile.TiffFile(buf) as tif:
        tif.pages[0].tags["Compression"].overwrite(34887)  # LERC: neither tifffile alone nor Pillow decodes it
    with pytest.raises(MedlearnInputError, match="uses LERC compression, and no decoder for it is installed"):
        read_image(buf.getvalue(), "lerc.tif")
