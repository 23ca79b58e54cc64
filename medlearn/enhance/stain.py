"""H&E stain separation by colour deconvolution, via scikit-image.

``skimage.color.rgb2hed`` unmixes an RGB slide into haematoxylin (nuclei,
blue-purple), eosin (stroma and cytoplasm, pink) and DAB optical densities
(Ruifrok and Johnston, Anal Quant Cytol Histol 23:291, 2001). Each stain is shown
alone with ``hed2rgb``, as the scikit-image gallery does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.color import hed2rgb, rgb2hed

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError


@dataclass
class StainChannels:
    """One slide's stains.

    Attributes:
        haematoxylin: ``(H, W, 3)`` uint8, the haematoxylin layer alone in its own colour.
        eosin: ``(H, W, 3)`` uint8, the eosin layer alone.
        haematoxylin_density: ``(H, W)`` float32 in [0, 1] (1 = the most stained pixel).
        eosin_density: ``(H, W)`` float32 in [0, 1].
    """

    haematoxylin: np.ndarray
    eosin: np.ndarray
    haematoxylin_density: np.ndarray
    eosin_density: np.ndarray


def _rgb01(image: MedImage | np.ndarray) -> np.ndarray:
    pixels = np.asarray(image.pixels if isinstance(image, MedImage) else image)
    if pixels.ndim != 3 or pixels.shape[-1] not in (3, 4):
        raise MedlearnInputError(
            f"Stain separation needs a colour (RGB) slide, got an image of shape {pixels.shape}."
        )
    rgb = pixels[..., :3].astype(np.float32)
    if not np.isfinite(rgb).all():
        raise MedlearnInputError("The slide contains NaN or infinite values.")
    return np.clip(rgb / 255.0 if rgb.max() > 1.0 else rgb, 0.0, 1.0)


def _single_stain_rgb(hed: np.ndarray, channel: int) -> np.ndarray:
    only = np.zeros_like(hed)
    only[..., channel] = hed[..., channel]
    return (np.clip(hed2rgb(only), 0, 1) * 255).round().astype(np.uint8)


def _density(layer: np.ndarray) -> np.ndarray:
    layer = np.maximum(layer, 0.0)
    top = float(layer.max())
    return (layer / top if top > 0 else layer).astype(np.float32)


def separate_stains(image: MedImage | np.ndarray) -> StainChannels:
    """Split an H&E slide into haematoxylin and eosin images.

    Args:
        image: an RGB ``MedImage`` or array ``(H, W, 3)`` (uint8 0-255 or float 0-1).

    Returns:
        :class:`StainChannels` with displayable RGB layers and [0, 1] densities.
    """
    hed = rgb2hed(_rgb01(image))
    return StainChannels(
        haematoxylin=_single_stain_rgb(hed, 0),
        eosin=_single_stain_rgb(hed, 1),
        haematoxylin_density=_density(hed[..., 0]),
        eosin_density=_density(hed[..., 1]),
    )
