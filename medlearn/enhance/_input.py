"""Shared input checks for the enhancement functions (arrays or MedImages in, same kind out)."""

from __future__ import annotations

import numpy as np

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError


def pixels_of(image: MedImage | np.ndarray, what: str) -> np.ndarray:
    """The float32 pixels of ``image``; a typed error for anything that is not an image.

    Args:
        image: a ``MedImage`` or an array ``(H, W)``, ``(H, W, 3)`` or ``(Z, Y, X)``.
        what: the operation's name, for the error message.
    """
    pixels = image.pixels if isinstance(image, MedImage) else image
    try:
        arr = np.asarray(pixels, dtype=np.float32)
    except (TypeError, ValueError):
        raise MedlearnInputError(f"{what} needs an image (an array of numbers).") from None
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise MedlearnInputError(f"{what} needs a 2D image or a 3D volume, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise MedlearnInputError(f"{what}: the image contains NaN or infinite values.")
    return arr


def same_kind(image: MedImage | np.ndarray, out: np.ndarray, **changes) -> MedImage | np.ndarray:
    """Wrap ``out`` like ``image``: a MedImage keeps its geometry, an array stays an array."""
    if isinstance(image, MedImage):
        return image.with_pixels(out, **changes)
    return out


def is_colour(image: MedImage | np.ndarray, pixels: np.ndarray) -> bool:
    """True for an RGB picture: a colour MedImage, or a bare ``(H, W, 3)`` array."""
    if isinstance(image, MedImage):
        return image.is_rgb
    return pixels.ndim == 3 and pixels.shape[-1] == 3
