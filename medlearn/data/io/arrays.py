"""Small dtype and layout fixes shared by the readers, and cheap image construction.

Kept here (rather than in each reader) so every format returns the same kinds of
arrays: integers stay integers (16-bit greys stay ``uint16``), floats become
``float32``, colour pictures become ``(H, W, 3)`` ``uint8``.
"""

from __future__ import annotations

import math

import numpy as np

from medlearn.data.image import LUMINANCE, MedImage, Window
from medlearn.errors import MedlearnInputError


def to_working_dtype(arr: np.ndarray, name: str) -> np.ndarray:
    """``float64``/``float16`` -> ``float32``, ``bool`` -> ``uint8``; other types unchanged.

    Raises:
        MedlearnInputError: complex numbers, strings or Python objects.
    """
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.uint8)
    if kind == "f":
        return arr if arr.dtype == np.float32 else arr.astype(np.float32)  # NaN/inf: MedImage checks
    if kind in "iu":
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    raise MedlearnInputError(f"{name}: pixels of type {arr.dtype} are not numbers MedLearn can show.")


def rgb_to_uint8(arr: np.ndarray) -> np.ndarray:
    """A colour array ``(H, W, 3)`` of any numeric type as ``uint8`` (16-bit scaled down).

    Args:
        arr: ``(H, W, 3)`` (or ``(H, W, 4)``: the alpha channel is dropped).
    """
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return (arr >> 8).astype(np.uint8)
    a = arr.astype(np.float32)
    top = 1.0 if float(a.max()) <= 1.0 else 255.0
    return np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8)


GREY_TOLERANCE = 3
"""Channels of a colour picture that differ by at most this many 8-bit levels (JPEG's
colour subsampling leaves such traces on a grey image) count as equal."""


def grey_if_equal(arr: np.ndarray) -> tuple[np.ndarray, str | None]:
    """A grey picture stored as colour ``(H, W, 3)`` ``uint8`` with (nearly) equal channels
    as ``(H, W)`` (ultrasound and X-ray exports often are), and a note saying so.

    Exactly equal channels give the first channel; channels within :data:`GREY_TOLERANCE`
    levels of each other everywhere give their rounded luminance. A true colour picture is
    returned unchanged with no note.
    """
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        return arr, None
    if _spread(arr[::8, ::8]) > GREY_TOLERANCE:  # a colour photograph shows it in a sparse sample already
        return arr, None
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    if np.array_equal(r, g) and np.array_equal(r, b):
        return np.ascontiguousarray(r), "stored as colour with three equal channels: read as grey"
    spread = _spread(arr)
    if spread > GREY_TOLERANCE:
        return arr, None
    luminance = arr.astype(np.float32) @ LUMINANCE
    grey = np.clip(np.rint(luminance), 0, 255).astype(np.uint8)
    return grey, f"stored as colour whose channels differ by at most {spread} levels: read as grey"


def _spread(arr: np.ndarray) -> int:
    """The largest difference between a pixel's channels ``(..., 3)``."""
    wide = arr.astype(np.int16)
    return int((wide.max(axis=-1) - wide.min(axis=-1)).max()) if wide.size else 0


def contiguous(arr: np.ndarray) -> np.ndarray:
    """C-contiguous, positive strides (``torch.from_numpy`` refuses flipped views)."""
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


_SAMPLE = 4096


def auto_window(pixels: np.ndarray) -> Window:
    """The 0.5-99.5 percentile window of :func:`medlearn.data.image.default_window`,
    estimated from at most :data:`_SAMPLE` evenly strided values with one
    ``np.partition`` (no float copy, no full sort). Written here because the exact
    percentiles cost more than reading a small file; a display window needs no more."""
    flat = pixels.reshape(-1)
    sample = flat[:: flat.size // _SAMPLE + 1] if flat.size > _SAMPLE else flat
    lo_k, hi_k = int(0.005 * (sample.size - 1)), math.ceil(0.995 * (sample.size - 1))
    part = np.partition(sample, (lo_k, hi_k))  # plain math around one numpy call (small images)
    low, high = float(part[lo_k]), float(part[hi_k])
    if high <= low:
        low, high = float(flat.min()), float(flat.max()) + 1.0
    return Window((low + high) / 2, high - low, "auto")


def new_image(pixels: np.ndarray, **fields) -> MedImage:
    """A :class:`MedImage` whose default window comes from :func:`auto_window`."""
    colour = pixels.ndim == 3 and pixels.shape[-1] == 3 and pixels.dtype == np.uint8
    if fields.get("window") is None and not colour:
        fields["window"] = auto_window(pixels)
    return MedImage(pixels, **fields)
