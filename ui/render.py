"""Display-only drawing: windowed slices, mask overlays and thumbnails as RGB arrays.

Why our own code: compositing a label map over a windowed slice for ``st.image`` is a
few lines of NumPy; the field's libraries do the real work (scikit-image finds mask
boundaries and resamples anisotropic slices). Nothing here imports Streamlit, so the
functions are tested directly; the viewers in ``ui.viewers`` only call them.

Array conventions follow ``medlearn.data.image``: volumes are ``(Z, Y, X)``.
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import find_boundaries
from skimage.transform import resize

from medlearn.data.image import MedImage, Window

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form
# of colour-vision deficiency. Label 1 gets orange, 2 sky blue, and so on.
OKABE_ITO: tuple[tuple[str, str], ...] = (
    ("orange", "#E69F00"),
    ("sky blue", "#56B4E9"),
    ("bluish green", "#009E73"),
    ("yellow", "#F0E442"),
    ("blue", "#0072B2"),
    ("vermillion", "#D55E00"),
    ("reddish purple", "#CC79A7"),
    ("white", "#FFFFFF"),  # an eighth colour (beyond Okabe-Ito's seven; black vanishes on dark images)
)

PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")


def hex_to_rgb(colour: str) -> np.ndarray:
    """``"#E69F00"`` -> ``array([0.90, 0.62, 0.0])`` (float32 in [0, 1])."""
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], np.float32) / 255.0


def label_colour(label: int) -> tuple[str, str]:
    """(name, hex) of the palette colour drawn for mask value ``label`` (>= 1)."""
    return OKABE_ITO[(int(label) - 1) % len(OKABE_ITO)]


def plane_slice(array: np.ndarray, plane: str, index: int) -> np.ndarray:
    """One 2D slice of a ``(Z, Y, X)`` volume, oriented superior/anterior up.

    Args:
        array: ``(Z, Y, X)`` volume (or a mask of the same shape).
        plane: ``"axial"`` (fixed Z), ``"coronal"`` (fixed Y) or ``"sagittal"`` (fixed X).
        index: slice index along the fixed axis (clipped to the valid range).

    Returns:
        ``(Y, X)`` for axial, ``(Z, X)`` for coronal, ``(Z, Y)`` for sagittal, flipped
        vertically so the increasing axis points up on screen.
    """
    axis = PLANES.index(plane)
    index = int(np.clip(index, 0, array.shape[axis] - 1))
    return np.flipud(np.take(array, index, axis=axis))


def plane_spacing(spacing: tuple[float, ...], plane: str) -> tuple[float, float]:
    """(row, column) spacing in mm of :func:`plane_slice`'s output."""
    sz, sy, sx = spacing
    return {"axial": (sy, sx), "coronal": (sz, sx), "sagittal": (sz, sy)}[plane]


def display_size(shape: tuple[int, int], spacing: tuple[float, float], target: int) -> tuple[int, int]:
    """Output (rows, cols) that keep physical aspect and make the long side ``target`` px."""
    height_mm, width_mm = shape[0] * spacing[0], shape[1] * spacing[1]
    scale = target / max(height_mm, width_mm)
    return max(1, round(height_mm * scale)), max(1, round(width_mm * scale))


def to_rgb(unit: np.ndarray) -> np.ndarray:
    """Grey ``(H, W)`` or colour ``(H, W, 3)`` in [0, 1] -> ``(H, W, 3)`` float32."""
    unit = np.asarray(unit, np.float32)
    return np.repeat(unit[..., None], 3, axis=-1) if unit.ndim == 2 else unit[..., :3]


def overlay(base: np.ndarray, mask: np.ndarray | None, opacity: float = 0.45, outline: bool = False) -> np.ndarray:
    """Blend a label map over an image in the Okabe-Ito palette.

    Args:
        base: ``(H, W)`` grey or ``(H, W, 3)`` colour image in [0, 1].
        mask: ``(H, W)`` integer label map (0 = background) or None.
        opacity: 0 (invisible) .. 1 (opaque) for filled regions.
        outline: draw only the region boundaries (opaque, 1 px) instead of filling.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    rgb = to_rgb(base).copy()
    if mask is not None:
        mask = np.asarray(mask)
        for value in (v for v in np.unique(mask) if v > 0):
            region = mask == value
            if outline:
                region = find_boundaries(region, mode="inner")
                alpha = 1.0
            else:
                alpha = float(np.clip(opacity, 0.0, 1.0))
            colour = hex_to_rgb(label_colour(int(value))[1])
            rgb[region] = (1 - alpha) * rgb[region] + alpha * colour
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def render_2d(
    unit: np.ndarray,
    mask: np.ndarray | None,
    spacing: tuple[float, float],
    target: int,
    opacity: float = 0.45,
    outline: bool = False,
) -> np.ndarray:
    """Resample a [0, 1] picture (and its mask) to display size, then overlay.

    Upsampling uses nearest neighbour for masks and linear interpolation for the
    picture, so a 28-px image shows crisp, square pixels at the right aspect ratio.

    Returns:
        ``(h, w, 3)`` uint8 RGB with the long side ``target`` pixels.
    """
    size = display_size(unit.shape[:2], spacing, target)
    order = 0 if max(unit.shape[:2]) * 4 <= target else 1
    picture = resize(unit, size + unit.shape[2:], order=order, preserve_range=True, anti_aliasing=order == 1)
    if mask is not None:
        mask = resize(mask, size, order=0, preserve_range=True, anti_aliasing=False).astype(np.int32)
    return overlay(picture, mask, opacity, outline)


def thumbnail(image: MedImage, mask: np.ndarray | None = None, target: int = 160) -> np.ndarray:
    """A small RGB preview: the picture, or the middle axial slice of a volume.

    Returns:
        ``(h, w, 3)`` uint8 with the long side ``target`` pixels.
    """
    unit = image.windowed()
    spacing = image.spacing
    if image.spatial_dims == 3:
        middle = image.pixels.shape[0] // 2
        if mask is not None and np.any(mask):  # show the slice through the labelled region
            middle = int(np.argmax(np.asarray(mask).reshape(mask.shape[0], -1).sum(axis=1)))
        unit = plane_slice(unit, "axial", middle)
        mask = None if mask is None else plane_slice(mask, "axial", middle)
        spacing = plane_spacing(image.spacing, "axial")
    return render_2d(unit, mask, spacing[:2], target, opacity=0.35)


def window_choices(image: MedImage, presets: tuple[tuple[str, float, float], ...] = ()) -> list[Window]:
    """Display windows to offer: the image's default, its own presets, then the case's."""
    seen: dict[str, Window] = {}
    candidates = [image.window, *image.windows, *(Window(c, w, n) for n, c, w in presets)]
    for window in candidates:
        if window is not None and window.name not in seen:
            seen[window.name] = window
    return list(seen.values())
