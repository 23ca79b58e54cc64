"""Pictures: PNG and JPEG through Pillow, TIFF through tifffile (Pillow as fallback).

Every reader opens the file lazily, checks the size the header announces, and only
then decodes. Results: grey ``(H, W)`` (``uint8``, ``uint16`` kept for 16-bit files,
``float32``) or colour ``(H, W, 3)`` ``uint8`` (alpha dropped, palettes expanded).
"""

from __future__ import annotations

import logging
import zlib

import numpy as np
import tifffile
from PIL import Image, ImageOps

from medlearn.data.image import MedImage
from medlearn.data.io.arrays import grey_if_equal, new_image, rgb_to_uint8, to_working_dtype
from medlearn.data.io.library_notes import listening, one_line
from medlearn.data.io.limits import check_shape, pick_index
from medlearn.data.io.source import Blob
from medlearn.errors import MedlearnInputError

_GREY_MODES = {"L", "I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def _picture(pixels: np.ndarray, blob: Blob, fmt: str, meta: dict) -> MedImage:
    pixels, grey_note = grey_if_equal(pixels)
    if grey_note:
        meta = {**meta, "grey": grey_note}
    return new_image(pixels, spacing=(1.0, 1.0), spacing_known=False, modality="OT", orientation="2D",
                    source=blob.name, format=fmt, meta={**meta, "spacing_unit": "pixel"})


def _grey_palette(im: Image.Image) -> bool:
    pal = np.asarray(im.getpalette() or [], dtype=np.int32).reshape(-1, 3)
    return bool(len(pal)) and bool((pal == pal[:, :1]).all())


def _pillow_array(im: Image.Image, meta: dict) -> np.ndarray:
    mode = im.mode
    if mode in ("P", "PA"):
        im = im.convert("L" if _grey_palette(im) else "RGB")
        meta["palette"] = "expanded to " + im.mode
    elif mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif mode not in _GREY_MODES and mode != "RGB":
        im = im.convert("RGB")
    meta["alpha_dropped"] = "A" in mode
    arr = np.asarray(im)
    if arr.dtype == np.int32 and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        arr = arr.astype(np.uint16)
    return rgb_to_uint8(arr) if arr.ndim == 3 else arr


def check_png_chunks(data: bytes, name: str) -> None:
    """Refuse a PNG whose chunks fail their CRC-32 checksums (corrupt image data): Pillow
    streams IDAT to the decoder without checking them, so a damaged file decodes to noise.
    Written here because Pillow offers no strict mode for it."""
    pos = 8  # after the signature
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 8 + length
        if end + 4 > len(data):
            raise MedlearnInputError(f"{name}: the PNG file is truncated (its {kind.decode('latin-1')!r} chunk "
                                     "is cut short).")
        if zlib.crc32(data[pos + 4:end]) != int.from_bytes(data[end:end + 4], "big"):
            raise MedlearnInputError(f"{name}: the PNG data is corrupt (its {kind.decode('latin-1')!r} chunk fails "
                                     "its checksum); the file was damaged in copying or saving.")
        if kind == b"IEND":
            return
        pos = end + 4


def read_pillow(blob: Blob, fmt: str) -> MedImage:
    """Read a PNG, JPEG (or, as fallback, TIFF) picture with Pillow.

    Returns:
        A ``MedImage`` with pixels ``(H, W)`` or ``(H, W, 3)`` uint8, spacing in pixels.
    """
    if fmt == "png" and blob.raw is not None:  # in memory already (uploads, small files): one fast pass
        check_png_chunks(blob.raw, blob.name)
    try:  # Pillow's DecompressionBombWarning is not heard: check_shape applies MedLearn's limit
        im = Image.open(blob.path if blob.raw is None else blob.open())
    except Image.DecompressionBombError as exc:
        raise MedlearnInputError(f"{blob.name}: the picture is far too large ({exc}).") from exc
    with im:
        check_shape((im.height, im.width), blob.name, spatial_dims=2)
        meta = {"mode": im.mode}
        if im.getexif().get(0x0112, 1) != 1:  # EXIF orientation of camera pictures
            im = ImageOps.exif_transpose(im)
            meta["exif_rotated"] = True
        arr = to_working_dtype(_pillow_array(im, meta), blob.name)
    return _picture(arr, blob, fmt, meta)


def _tiff_layout(arr: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    if "S" in axes and not axes.endswith("S"):
        arr = np.moveaxis(arr, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    return arr, axes


def _check_complete(tif: tifffile.TiffFile, name: str) -> tifffile.TiffPageSeries:
    """The first series of ``tif``, after refusing a file that is cut short or damaged: the
    chain of pages breaks off (tifffile logs an error and stops there, which would show part
    of a stack as if it were all), or a page's data runs past the end of the file."""
    with listening() as heard:
        count = len(tif.pages)  # follows the chain of pages to its end
    broken = [item for item in heard if item.level >= logging.ERROR]
    if broken:
        raise MedlearnInputError(f"{name}: the TIFF file is truncated or damaged: its list of pages breaks off "
                                 f"after page {count} (tifffile: {one_line(broken[0].text)}).")
    series, size = tif.series[0], tif.filehandle.size
    for page in series.pages:
        ends = [offset + length for offset, length in zip(page.dataoffsets, page.databytecounts)] if page else []
        if ends and max(ends) > size:
            raise MedlearnInputError(f"{name}: the TIFF file is truncated (incomplete): its image data runs to "
                                     f"byte {max(ends):,} but the file ends at byte {size:,}.")
    return series


def read_tiff(blob: Blob, volume_index: int | None = None) -> MedImage:
    """Read a TIFF: one page (grey or colour), a stack of grey pages (a volume), or a
    stack of colour pages (``volume_index`` picks one page)."""
    try:
        with tifffile.TiffFile(blob.path if blob.path is not None else blob.open()) as tif:
            series = _check_complete(tif, blob.name)
            page = tif.pages[0]
            dims = 2 if series.ndim == 2 or series.axes.endswith("S") and series.ndim == 3 else 3
            check_shape(tuple(s for s, a in zip(series.shape, series.axes) if a != "S"), blob.name,
                        spatial_dims=dims)
            try:
                arr = series.asarray()
            except (KeyError, ValueError, NotImplementedError) as exc:
                return _tiff_fallback(blob, page.compression, exc)
            colormap, photometric = page.colormap, page.photometric.name
    except tifffile.TiffFileError as exc:
        raise MedlearnInputError(f"{blob.name}: the TIFF file is damaged or truncated ({one_line(exc)}).") from exc
    arr, axes = _tiff_layout(arr, series.axes)
    meta = {"photometric": photometric}
    if photometric == "PALETTE" and colormap is not None and arr.ndim == 2:
        arr = rgb_to_uint8(np.moveaxis(colormap[:, arr], 0, -1))
        meta["palette"] = "expanded to RGB"
    elif axes.endswith("S"):
        if arr.ndim == 4:
            i = pick_index(volume_index, arr.shape[0], "page", blob.name)
            arr, meta["page_index"], meta["pages"] = arr[i], i, int(arr.shape[0])
        meta["alpha_dropped"] = arr.shape[-1] in (2, 4)
        arr = arr[..., 0] if arr.shape[-1] == 2 else rgb_to_uint8(arr)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8) * 255
    arr = to_working_dtype(arr, blob.name)
    if arr.ndim == 2 or (arr.ndim == 3 and axes.endswith("S")) or meta.get("palette"):
        return _picture(arr, blob, "tiff", meta)
    arr = arr.reshape((-1,) + arr.shape[-2:])  # pages (and any extra axes) become slices
    meta.update(pages=int(arr.shape[0]), spacing_unit="pixel")
    return new_image(arr, modality="OT", orientation="ZYX", source=blob.name, format="tiff", meta=meta)


def _tiff_fallback(blob: Blob, compression: tifffile.COMPRESSION, exc: Exception) -> MedImage:
    """Pillow's try at a TIFF tifffile could not decode; the refusal says which of the two
    happened: no decoder for its compression here, or data that does not decode."""
    try:
        return read_pillow(blob, "tiff")
    except (OSError, ValueError) as second:
        if compression not in tifffile.TIFF.DECOMPRESSORS:
            raise MedlearnInputError(
                f"{blob.name}: this TIFF uses {compression.name} compression, and no decoder for it is installed "
                f"here (tifffile needs the 'imagecodecs' package; Pillow: {one_line(second)}). Save it "
                "uncompressed or as PNG, or install imagecodecs."
            ) from second
        raise MedlearnInputError(
            f"{blob.name}: the TIFF's {compression.name} image data cannot be decoded: it is damaged or "
            f"truncated ({one_line(exc)})."
        ) from exc
