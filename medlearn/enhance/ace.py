"""Adaptive contrast enhancement (ACE), the classic local-statistics form.

    out(x) = m(x) + G(x) · (I(x) − m(x)),   G(x) = min(α · σ_global / σ(x), G_max)

with ``m`` and ``σ`` the local mean and standard deviation in a square window
(Lee 1980; Narendra and Fitch, IEEE TPAMI 3(6):655, 1981).

Written here because no well-kept library ships ACE (scikit-image has CLAHE and
histogram equalisation, not this local-gain filter). It is vectorised with
``scipy.ndimage.uniform_filter``: two box filters give the local moments.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

from medlearn.data.image import MedImage
from medlearn.enhance._input import is_colour, pixels_of, same_kind
from medlearn.errors import MedlearnInputError

_EPS = 1e-6


def local_stats(pixels: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Local mean and standard deviation in a ``window``-wide box (edges reflected).

    Args:
        pixels: float32 ``(H, W)``.
        window: odd box width in pixels.

    Returns:
        ``(mean, std)``, both ``(H, W)`` float32.
    """
    p = pixels.astype(np.float64)
    mean = uniform_filter(p, size=window, mode="reflect")
    sq = uniform_filter(p * p, size=window, mode="reflect")
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return mean.astype(np.float32), std.astype(np.float32)


def ace_array(pixels: np.ndarray, window: int = 15, alpha: float = 1.0, max_gain: float = 3.0) -> np.ndarray:
    """ACE on a 2D grey array; see the module docstring for the formula.

    Args:
        pixels: ``(H, W)`` float array.
        window: odd local window width in pixels (>= 3).
        alpha: gain factor α (> 0).
        max_gain: cap G_max (>= 1) so flat, noisy regions are not blown up.

    Returns:
        ``(H, W)`` float32 in the input's units (not clipped).
    """
    mean, std = local_stats(pixels, window)
    sigma_global = float(pixels.std())
    gain = np.minimum(alpha * sigma_global / np.maximum(std, _EPS), max_gain)
    return (mean + gain * (pixels - mean)).astype(np.float32)


def ace(
    image: MedImage | np.ndarray,
    window: int = 15,
    alpha: float = 1.0,
    max_gain: float = 3.0,
) -> MedImage | np.ndarray:
    """Adaptive contrast enhancement of a grey image, colour picture (per channel) or volume (per slice).

    Args:
        image: a ``MedImage`` or an array ``(H, W)``, ``(H, W, 3)`` or ``(Z, Y, X)``.
        window: odd local window width in pixels (3 to 255).
        alpha: gain factor α in (0, 10].
        max_gain: gain cap G_max in [1, 50].

    Returns:
        The same kind as ``image`` (a MedImage keeps spacing and metadata), float32.
    """
    if not (isinstance(window, (int, np.integer)) and 3 <= window <= 255 and window % 2 == 1):
        raise MedlearnInputError(f"The ACE window must be an odd number of pixels from 3 to 255, got {window}.")
    if not 0 < alpha <= 10:
        raise MedlearnInputError(f"The ACE gain factor alpha must be in (0, 10], got {alpha}.")
    if not 1 <= max_gain <= 50:
        raise MedlearnInputError(f"The ACE gain cap must be in [1, 50], got {max_gain}.")
    pixels = pixels_of(image, "ACE")
    colour = is_colour(image, pixels)
    if pixels.ndim == 2:
        out = ace_array(pixels, window, alpha, max_gain)
    elif colour:
        out = np.stack([ace_array(pixels[..., c], window, alpha, max_gain) for c in range(3)], axis=-1)
    else:
        out = np.stack([ace_array(s, window, alpha, max_gain) for s in pixels])
    if colour:
        out = np.clip(out, 0, 255 if pixels.max() > 1 else 1)
    return same_kind(image, out)
