"""Display-only drawing: windowed slices, mask overlays and thumbnails as RGB arrays.

Why our own code: choosing a slice and resampling it to display size for ``st.image`` is
a few lines of NumPy over scikit-image (which resamples anisotropic slices). Masks are
drawn by the one mask overlay, :func:`medlearn.explain.overlay.mask_overlay`, in its one
Okabe-Ito palette. Nothing here imports Streamlit, so the functions are tested directly;
the viewers in ``ui.shared.viewers`` and the answer view only call them.

Array conventions follow ``medlearn.data.image``: volumes are ``(Z, Y, X)``.
"""

from __future__ import annotations

import numpy as np
from skimage.transform import resize

from medlearn.data.image import MedImage, Window
from medlearn.explain.overlay import colour_hex
from medlearn.explain.overlay import label_colour as palette_colour
from medlearn.explain.overlay import mask_overlay

PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")


def label_colour(label: int, photo: bool = False) -> tuple[str, str]:
    """(name, hex) of the palette colour drawn for mask value ``label`` (>= 1) on a grey image
    or (``photo``) a colour picture: the one Okabe-Ito palette of
    :mod:`medlearn.explain.overlay`, written for legends."""
    name, _ = palette_colour(label, photo)
    return name, colour_hex(name)


def legend_words(mask: np.ndarray, names: tuple[str, ...], photo: bool = False) -> str:
    """The one legend of every mask overlay: ``"orange = head, sky blue = body"`` for the
    labels present in ``mask`` (``""`` when none is); ``photo``: drawn on a colour picture
    (:func:`medlearn.explain.overlay.is_photo` of the overlay's base)."""
    present = [int(v) for v in np.unique(mask) if v > 0]
    return ", ".join(f"{label_colour(v, photo)[0]} = {names[v] if v < len(names) else f'label {v}'}"
                     for v in present)


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
    """Blend a label map over a ``[0, 1]`` picture (grey ``(H, W)`` or colour ``(H, W, 3)``):
    :func:`medlearn.explain.overlay.mask_overlay`, the one mask overlay, as ``(H, W, 3)`` uint8."""
    rgb = (np.clip(to_rgb(base), 0, 1) * 255).round().astype(np.uint8)
    if mask is None:
        return rgb
    return mask_overlay(rgb, np.asarray(mask), "outline" if outline else "fill", float(np.clip(opacity, 0.0, 1.0)))


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
