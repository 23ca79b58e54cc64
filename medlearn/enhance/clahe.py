"""Contrast-limited adaptive histogram equalisation (CLAHE), via scikit-image.

A thin wrapper over ``skimage.exposure.equalize_adapthist`` (Zuiderveld, Graphics
Gems IV, 1994) that accepts a MedImage (windowed to [0, 1] first) or an array.
"""

from __future__ import annotations

import numpy as np
from skimage.exposure import equalize_adapthist

from medlearn.data.image import MedImage, Window
from medlearn.enhance._input import is_colour, pixels_of, same_kind
from medlearn.errors import MedlearnInputError


def _unit_range(image: MedImage | np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1]: a MedImage through its window, an array by min-max."""
    if isinstance(image, MedImage):
        return image.windowed()
    lo, hi = float(pixels.min()), float(pixels.max())
    return np.zeros_like(pixels) if hi <= lo else (pixels - lo) / (hi - lo)


def clahe(
    image: MedImage | np.ndarray,
    clip_limit: float = 0.01,
    kernel_size: int | None = None,
    nbins: int = 256,
) -> MedImage | np.ndarray:
    """CLAHE of a grey image, colour picture or volume, scaled to [0, 1] first.

    Args:
        image: a ``MedImage`` or an array ``(H, W)``, ``(H, W, 3)`` or ``(Z, Y, X)``.
        clip_limit: contrast limit in (0, 1]; higher gives more contrast.
        kernel_size: tile size in pixels (default: 1/8 of each side, as scikit-image).
        nbins: grey levels of the histograms (16 to 65536).

    Returns:
        float32 in [0, 1], the same kind as ``image``; a MedImage gets the window [0, 1].
    """
    if not 0 < clip_limit <= 1:
        raise MedlearnInputError(f"The CLAHE clip limit must be in (0, 1], got {clip_limit}.")
    if kernel_size is not None and not 2 <= kernel_size <= 4096:
        raise MedlearnInputError(f"The CLAHE tile size must be 2 to 4096 pixels, got {kernel_size}.")
    if not 16 <= nbins <= 65536:
        raise MedlearnInputError(f"CLAHE needs 16 to 65536 histogram bins, got {nbins}.")
    pixels = pixels_of(image, "CLAHE")
    unit = _unit_range(image, pixels)
    colour = is_colour(image, pixels)
    def eq(a: np.ndarray) -> np.ndarray:  # colour: scikit-image equalises the HSV value channel
        return equalize_adapthist(a, kernel_size=kernel_size, clip_limit=clip_limit, nbins=nbins)

    if unit.ndim == 2 or colour:
        out = eq(unit).astype(np.float32)
    else:  # a volume, slice by slice (a 3-slice stack would otherwise look like RGB to scikit-image)
        out = np.stack([eq(s) for s in unit]).astype(np.float32)
    if isinstance(image, MedImage):
        return same_kind(image, out, window=Window(0.5, 1.0, "unit"), windows=())
    return out
