"""Heat-map and mask overlays as RGB uint8 arrays, colour-blind safe by default.

Heat maps use perceptually uniform maps readable with colour-vision deficiency
(viridis, cividis; Nuñez et al., PLoS ONE 13:e0199239, 2018); jet only on request.
Masks use the Okabe-Ito palette (Okabe and Ito, "Color Universal Design", 2008).
Colour maps come from matplotlib; outlines from ``skimage.segmentation.find_boundaries``.
Works on any shape (a 2D slice or a whole volume) as long as map and image agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.segmentation import find_boundaries
from skimage.transform import resize

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, UnknownNameError

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form of
# colour-vision deficiency. MedLearn's one palette: mask labels (label 1 orange, 2 sky blue...),
# their legends, and chart lines (ui.train.race_chart). Black is left out (it vanishes on dark
# images); white is an eighth colour beyond Okabe-Ito's seven.
OKABE_ITO: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167),
    (255, 255, 255),
)
COLOUR_NAMES: tuple[str, ...] = ("orange", "sky blue", "bluish green", "yellow", "blue", "vermillion",
                                 "reddish purple", "white")


GREY = "#999999"  # the neutral beside the palette (a baseline, the classes not chosen)


def colour_hex(name: str) -> str:
    """``"blue"`` -> ``"#0072B2"``: a palette colour by name, for charts and drawing strokes."""
    try:
        return "#{:02X}{:02X}{:02X}".format(*OKABE_ITO[COLOUR_NAMES.index(name)])
    except ValueError:
        raise UnknownNameError(f"No palette colour {name!r}; choose one of {', '.join(COLOUR_NAMES)}.") from None


# On a colour photograph (fundus: orange-red; H&E: pink and purple) orange vanishes: the same
# palette in another order, sky blue and bluish green first, orange last.
PHOTO_ORDER: tuple[int, ...] = (1, 2, 3, 7, 4, 6, 5, 0)


def is_photo(image: MedImage | np.ndarray) -> bool:
    """Whether an overlay's base is a colour picture (its channels differ), not a grey image
    drawn in RGB: what decides the mask colours (:func:`label_colour`, :func:`mask_overlay`)."""
    if isinstance(image, MedImage):
        if not image.is_rgb:
            return False
        image = image.pixels
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        return False
    return bool(np.any(arr[..., 0] != arr[..., 1]) or np.any(arr[..., 1] != arr[..., 2]))


def palette_for(photo: bool) -> tuple[tuple[int, int, int], ...]:
    """The label colours: Okabe-Ito, reordered for a colour photograph (:data:`PHOTO_ORDER`)."""
    return tuple(OKABE_ITO[i] for i in PHOTO_ORDER) if photo else OKABE_ITO


def label_colour(label: int, photo: bool = False) -> tuple[str, tuple[int, int, int]]:
    """(name, RGB) of the palette colour drawn for mask value ``label`` (>= 1), on a grey image
    or (``photo``) on a colour picture."""
    index = (int(label) - 1) % len(OKABE_ITO)
    if photo:
        index = PHOTO_ORDER[index]
    return COLOUR_NAMES[index], OKABE_ITO[index]


@dataclass(frozen=True)
class ColourMap:
    name: str
    colour_blind_safe: bool


_COLOURMAPS = {c.name: c for c in (
    ColourMap("viridis", True), ColourMap("cividis", True), ColourMap("magma", True),
    ColourMap("inferno", True), ColourMap("jet", False),
)}


def list_colormaps(safe_only: bool = False) -> list[ColourMap]:
    """Heat-map colour maps, the default (viridis) first; jet is flagged unsafe."""
    return [c for c in _COLOURMAPS.values() if c.colour_blind_safe or not safe_only]


def colourise(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Map values in [0, 1] (any shape ``S``) to RGB uint8 ``(*S, 3)`` through ``cmap``."""
    from matplotlib import colormaps  # here: the home page draws masks without loading matplotlib

    if cmap not in _COLOURMAPS:
        raise UnknownNameError(f"Unknown colour map {cmap!r}; choose one of {', '.join(_COLOURMAPS)}.")
    lut = (colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    idx = (np.clip(np.nan_to_num(np.asarray(values, np.float32)), 0, 1) * 255).round().astype(np.intp)
    return lut[idx]


def to_rgb_uint8(image: MedImage | np.ndarray, spatial_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An image as RGB uint8 ``(*spatial, 3)``: a MedImage through its window, a uint8 array as the
    display values it already is, any other array by min-max.

    Args:
        image: grey ``(*spatial)`` or colour ``(H, W, 3)``.
        spatial_shape: the overlay's shape, used to tell a colour picture from a 3-slice volume.
    """
    if isinstance(image, MedImage):
        unit = image.windowed()
    elif np.asarray(image).dtype == np.uint8:  # drawn already (a picture, a windowed slice)
        unit = np.asarray(image, np.float32) / 255.0
    else:
        arr = np.asarray(image, np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        unit = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    colour = unit.ndim == 3 and unit.shape[-1] == 3 and (spatial_shape is None or unit.shape[:-1] == tuple(spatial_shape))
    if isinstance(image, MedImage):
        colour = image.is_rgb
    rgb = unit if colour else np.repeat(unit[..., None], 3, axis=-1)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def _fit(values: np.ndarray, shape: tuple[int, ...], order: int) -> np.ndarray:
    if values.shape == tuple(shape):
        return values
    if values.ndim != len(shape):
        raise MedlearnInputError(f"Cannot overlay a map of shape {values.shape} on an image of shape {shape}.")
    return resize(values, shape, order=order, preserve_range=True, anti_aliasing=False)


def heatmap_overlay(
    image: MedImage | np.ndarray, cam: np.ndarray, cmap: str = "viridis", alpha: float = 0.45
) -> np.ndarray:
    """Blend a heat map over an image.

    Args:
        image: grey ``(*S)``, colour ``(H, W, 3)`` or a MedImage.
        cam: map in [0, 1], ``S`` (resized bilinearly when its shape differs).
        cmap: colour map name (:func:`list_colormaps`), viridis by default.
        alpha: heat-map opacity in [0, 1].

    Returns:
        RGB uint8 ``(*S, 3)``.
    """
    if not 0 <= alpha <= 1:
        raise MedlearnInputError(f"Opacity must be between 0 and 1, got {alpha}.")
    cam = np.asarray(cam, np.float32)
    base = to_rgb_uint8(image, cam.shape).astype(np.float32)
    heat = colourise(_fit(cam, base.shape[:-1], 1), cmap).astype(np.float32)
    return (base * (1 - alpha) + heat * alpha).round().astype(np.uint8)


def mask_overlay(
    image: MedImage | np.ndarray,
    mask: np.ndarray,
    mode: str = "fill",
    alpha: float = 0.4,
    palette: tuple[tuple[int, int, int], ...] | None = None,
) -> np.ndarray:
    """Draw an integer label mask over an image, one palette colour per label (0 = none).

    Args:
        image: grey ``(*S)``, colour ``(H, W, 3)`` or a MedImage.
        mask: integer labels ``S`` (nearest-neighbour resized when its shape differs).
        mode: ``"fill"`` (translucent regions) or ``"outline"`` (opaque borders).
        alpha: fill opacity in [0, 1].
        palette: RGB colours for labels 1, 2, ... (cycled); default :func:`palette_for` the
            image (:func:`is_photo`: a colour picture gets sky blue first, not orange).

    Returns:
        RGB uint8 ``(*S, 3)``.
    """
    if mode not in ("fill", "outline"):
        raise MedlearnInputError(f"Mask overlay mode must be 'fill' or 'outline', got {mode!r}.")
    if not 0 <= alpha <= 1:
        raise MedlearnInputError(f"Opacity must be between 0 and 1, got {alpha}.")
    mask = np.asarray(mask)
    rgb = to_rgb_uint8(image, mask.shape)
    if palette is None:
        palette = palette_for(is_photo(rgb))
    out = rgb.astype(np.float32)
    mask = _fit(mask.astype(np.int32), out.shape[:-1], 0).astype(np.int32)
    for label in (int(v) for v in np.unique(mask) if v > 0):
        region = mask == label
        colour = np.array(palette[(label - 1) % len(palette)], np.float32)
        if mode == "outline":
            out[find_boundaries(region, mode="inner")] = colour
        else:
            out[region] = out[region] * (1 - alpha) + colour * alpha
    return out.round().astype(np.uint8)
