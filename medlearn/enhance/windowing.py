"""CT display windows (level/width in Hounsfield units): presets and their application.

Lung W1500/L−600 shows the parenchyma; mediastinum W350/L50 the soft tissue; bone
W1800/L400 the skeleton. A window maps [L − W/2, L + W/2] linearly onto [0, 1].
"""

from __future__ import annotations

import numpy as np

from medlearn.data.image import MedImage, Window
from medlearn.errors import MedlearnInputError, UnknownNameError

PRESETS: dict[str, Window] = {
    "lung": Window(center=-600.0, width=1500.0, name="lung"),
    "mediastinum": Window(center=50.0, width=350.0, name="mediastinum"),
    "bone": Window(center=400.0, width=1800.0, name="bone"),
    "brain": Window(center=40.0, width=80.0, name="brain"),
    "soft tissue": Window(center=40.0, width=400.0, name="soft tissue"),
}


def list_presets() -> list[Window]:
    """The CT window presets, lung first."""
    return list(PRESETS.values())


def get_preset(name: str) -> Window:
    """The preset called ``name`` (case-insensitive), or :class:`UnknownNameError`."""
    try:
        return PRESETS[name.strip().lower()]
    except (KeyError, AttributeError):
        raise UnknownNameError(f"Unknown CT window {name!r}; known windows: {', '.join(PRESETS)}.") from None


def _as_window(window: Window | str | tuple[float, float]) -> Window:
    if isinstance(window, Window):
        w = window
    elif isinstance(window, str):
        w = get_preset(window)
    else:
        try:
            center, width = (float(v) for v in window)
        except (TypeError, ValueError):
            raise MedlearnInputError("A window is a preset name, a Window, or (level, width).") from None
        w = Window(center, width, "custom")
    if not w.width > 0:
        raise MedlearnInputError(f"A window's width must be positive, got {w.width}.")
    return w


def apply_window(image: MedImage | np.ndarray, window: Window | str | tuple[float, float]) -> np.ndarray:
    """Map pixels through a window to float32 in [0, 1].

    Args:
        image: a grey ``MedImage`` or array in modality units (HU for CT), any shape.
        window: a preset name (``"lung"``), a :class:`Window`, or ``(level, width)``.

    Returns:
        float32 array of the same shape in [0, 1].
    """
    w = _as_window(window)
    if isinstance(image, MedImage):
        if image.is_rgb:
            raise MedlearnInputError("CT windows apply to grey images, not colour pictures.")
        return image.windowed(w)
    pixels = np.asarray(image, dtype=np.float32)
    return np.clip((pixels - w.low) / w.width, 0.0, 1.0)


def with_window(image: MedImage, window: Window | str | tuple[float, float]) -> MedImage:
    """The same image with ``window`` as its display window (pixels untouched)."""
    if not isinstance(image, MedImage):
        raise MedlearnInputError("with_window needs a MedImage; use apply_window for arrays.")
    if image.is_rgb:
        raise MedlearnInputError("CT windows apply to grey images, not colour pictures.")
    w = _as_window(window)
    return image.with_pixels(image.pixels, window=w)
