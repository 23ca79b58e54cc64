"""Image viewers: a 2D picture with its mask, a volume in three planes, window/level.

Each viewer runs as an ``st.fragment``: moving a slice, opacity or window slider reruns
only the viewer, not the page (no reload of samples, no model calls).
"""

from __future__ import annotations

import sys

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage, Window
from medlearn.explain.overlay import is_photo
from medlearn.data.phantoms import get_generator
from ui.shared import url_state
from ui.shared.render import PLANES, legend_words, plane_slice, plane_spacing, render_2d, window_choices

VIEW_2D_PX = 480
VIEW_PLANE_PX = 360
OVERLAYS = ("filled", "outline", "off")  # the link's ?overlay= values


def show_image(
    image: MedImage,
    mask: np.ndarray | None = None,
    *,
    class_names: tuple[str, ...] = (),
    presets: tuple[tuple[str, float, float], ...] = (),
    key: str = "viewer",
    caption: str = "",
    link: bool = False,
) -> None:
    """Draw a picture or a volume with optional ground-truth overlay and window/level.

    Args:
        image: the image to show; volumes ``(Z, Y, X)`` get three planes.
        mask: integer label map of ``image.spatial_shape`` (0 = background) or None.
        class_names: names of mask values (index = value), for the legend.
        presets: extra named windows ``(name, center, width)`` (e.g. CT lung).
        key: widget-key namespace; use a different one per viewer on a page.
        caption: what the image is, shown under it.
        link: keep this viewer's slices, window, overlay and opacity in the URL (one viewer a
            page: the case page's Explore viewer), so a shared link shows the same view.
    """
    _viewer(image, mask, tuple(class_names), tuple(presets), key, caption, link)


@st.fragment
def _viewer(image, mask, class_names, presets, key, caption, link=False) -> None:
    _forget_if_new_image(image, key)
    if link:
        _restore_view(image, mask is not None, presets, key)
    window = None
    if not image.is_rgb:
        with st.container(horizontal=True):
            window = window_control(image, presets, key)
    opacity, outline, visible = 0.0, False, False
    if mask is not None:
        with st.container(horizontal=True):
            opacity, outline, visible = overlay_controls(key)
    shown_mask = mask if visible else None
    if image.spatial_dims == 3:  # only the three shown slices are windowed: no whole-volume copy per rerun
        _three_planes(image, window, shown_mask, opacity, outline, key)
    else:
        st.image(render_2d(image.windowed(window), shown_mask, image.spacing, VIEW_2D_PX, opacity, outline), width=VIEW_2D_PX,
                 alt=caption or "image")
    st.caption(_caption(image, caption, window, shown_mask, class_names, opacity, outline))
    if link:
        _publish_view(image, window, mask is not None, key)


def _restore_view(image: MedImage, has_mask: bool, presets, key: str) -> None:
    """Seed the viewer's widgets from the link (``?slice=&window=&preset=&overlay=&opacity=``),
    once a session: a sample opened later starts from its own defaults."""
    if st.session_state.get(f"{key}.linked"):
        return
    st.session_state[f"{key}.linked"] = True
    if image.spatial_dims == 3:
        url_state.restore("slice", f"{key}.slices", url_state.parse_ints((1, n) for n in image.shape[:3]))
        for plane, number in zip(PLANES, st.session_state.pop(f"{key}.slices", None) or ()):
            st.session_state[f"{key}.{plane}"] = number
    if not image.is_rgb:
        names = [w.name for w in window_choices(image, presets)]
        url_state.restore("preset", f"{key}.preset", options=names)
        url_state.restore("window", f"{key}.window", _parse_window)
        level_width = st.session_state.pop(f"{key}.window", None)
        if level_width is not None:  # (window_control clips them to its sliders' ranges)
            st.session_state.setdefault(f"{key}.preset", names[0])  # a level and width belong to a preset
            st.session_state[f"{key}.level"], st.session_state[f"{key}.width"] = level_width
    if has_mask:
        url_state.restore("overlay", f"{key}.overlay", options=OVERLAYS)
        overlay = st.session_state.pop(f"{key}.overlay", None)
        if overlay is not None:
            st.session_state[f"{key}.show_mask"] = overlay != "off"
            if overlay != "off":
                st.session_state[f"{key}.style"] = overlay.capitalize()
        url_state.restore("opacity", f"{key}.opacity", url_state.parse_float(0.0, 1.0))


def _parse_window(raw: str) -> tuple[float, float]:
    """``"-600,1500"`` -> (level, width); the width must be positive."""
    parts = url_state.parse_list(raw)
    if len(parts) != 2:
        raise ValueError(raw)
    return url_state.parse_float()(parts[0]), url_state.parse_float(1e-6)(parts[1])


def _publish_view(image: MedImage, window: Window | None, has_mask: bool, key: str) -> None:
    """Write what the viewer shows to the link (see :func:`_restore_view`)."""
    state = st.session_state
    slices = [state.get(f"{key}.{plane}") for plane in PLANES] if image.spatial_dims == 3 else []
    url_state.publish("slice", slices if slices and None not in slices else None)
    url_state.publish("preset", window.name if window is not None else None)
    url_state.publish("window", None if window is None else
                      f"{url_state.number_text(window.center)},{url_state.number_text(window.width)}")
    overlay = None
    if has_mask:
        shown = state.get(f"{key}.show_mask", True)
        overlay = str(state.get(f"{key}.style", "Filled")).lower() if shown else "off"
    url_state.publish("overlay", overlay)
    opacity = state.get(f"{key}.opacity") if has_mask else None
    url_state.publish("opacity", None if opacity is None else url_state.number_text(opacity))


def _forget_if_new_image(image: MedImage, key: str) -> None:
    """A new image in the same viewer starts from its own window and middle slices."""
    signature = (image.source, image.shape, image.modality)
    if st.session_state.get(f"{key}.signature") != signature:
        for suffix in ("preset", "level", "width", *PLANES):
            st.session_state.pop(f"{key}.{suffix}", None)
        st.session_state[f"{key}.signature"] = signature


def overlay_controls(key: str, *, masks: bool = True, heat: bool = False, toggle: bool = True,
                     opacity: float = 0.35) -> tuple[float, bool, bool]:
    """The one overlay control of every view (the Explore viewers and the answer view): a
    "Show ground truth" toggle (``toggle``), the mask style when there are ``masks``, and the
    opacity (of the filled masks and, with ``heat``, of the heat map). Returns
    ``(opacity, outline, visible)``."""
    visible = st.toggle("Show ground truth", value=True, key=f"{key}.show_mask") if toggle else True
    outline = masks and st.radio("Overlay style", ("Filled", "Outline"), horizontal=True, key=f"{key}.style",
                                 disabled=not visible) == "Outline"
    opacity = st.slider("Overlay opacity", 0.0, 1.0, opacity, 0.05, key=f"{key}.opacity",
                        disabled=not visible or (outline and not heat))
    return opacity, outline, visible


def slice_control(image: MedImage, plane: str, key: str, start: int | None = None) -> int:
    """The one slice slider of every view: the array index of the ``plane`` slice shown.
    People count slices from 1 (slider and caption agree); the index is one less."""
    n = image.shape[PLANES.index(plane)]
    if n < 2:
        return 0
    first = n // 2 if start is None else int(np.clip(start, 0, n - 1))
    return st.slider(f"{plane.capitalize()} slice", 1, n, first + 1, key=key) - 1


def window_control(image: MedImage, presets: tuple[tuple[str, float, float], ...], key: str) -> Window:
    """Preset select box plus level/width sliders (in the image's intensity units)."""
    windows = {w.name: w for w in window_choices(image, presets)}
    lo, hi = float(np.min(image.pixels)), float(np.max(image.pixels))
    span = max(hi - lo, 1.0)
    c_lo, c_hi = min(lo, *(w.center for w in windows.values())), max(hi, *(w.center for w in windows.values()))
    w_hi = max(2 * span, *(w.width for w in windows.values()))
    step = 1.0 if span > 50 else round(span / 200, 4) or 0.001

    def apply_preset() -> None:
        chosen = windows[st.session_state[f"{key}.preset"]]
        st.session_state[f"{key}.level"] = float(np.clip(chosen.center, c_lo, c_hi))
        st.session_state[f"{key}.width"] = float(np.clip(chosen.width, step, w_hi))

    names = list(windows)
    if st.session_state.get(f"{key}.preset") not in windows:
        st.session_state[f"{key}.preset"] = names[0]
        st.session_state.pop(f"{key}.level", None)
    if f"{key}.level" not in st.session_state or f"{key}.width" not in st.session_state:
        apply_preset()
    for name, low, high in ((f"{key}.level", c_lo, c_hi), (f"{key}.width", step, w_hi)):
        st.session_state[name] = float(np.clip(st.session_state[name], low, high))
    st.selectbox("Window preset", names, key=f"{key}.preset", on_change=apply_preset,
                 help="Named display windows: the image's own and the case's (e.g. CT lung W1500/L−600).")
    level = st.slider("Window level (centre)", c_lo, c_hi, step=step, key=f"{key}.level")
    width = st.slider("Window width", step, w_hi, step=step, key=f"{key}.width")
    return Window(level, width, st.session_state[f"{key}.preset"])


def _three_planes(image: MedImage, window: Window | None, mask, opacity, outline, key) -> None:
    columns = st.columns(3)
    spacing = image.spacing
    for column, plane in zip(columns, PLANES):
        axis = PLANES.index(plane)
        n = image.pixels.shape[axis]
        with column:
            index = slice_control(image, plane, f"{key}.{plane}")
            part = None if mask is None else plane_slice(mask, plane, index)
            shown = image.windowed(window, part=plane_slice(image.pixels, plane, index))
            rgb = render_2d(shown, part, plane_spacing(spacing, plane),
                            VIEW_PLANE_PX, opacity, outline)
            st.image(rgb, caption=f"{plane} {index + 1}/{n}", width="stretch", alt=f"{plane} slice {index + 1}")


def mask_names(case: CaseStudy, phantom: bool = False) -> tuple[str, ...]:
    """Names of mask values (index = value).

    Segmentation cases: the task's classes. Classification cases: "lesion" for a real
    data set's 0/1 lesion map; a phantom's lesion codes when its generator module
    publishes them as ``LESION_CODES`` (value -> name), e.g. the retina phantom's.
    """
    if case.task.is_segmentation:
        return case.task.class_names
    codes = getattr(sys.modules.get(get_generator(case.key).make.__module__), "LESION_CODES", None) if phantom else None
    if isinstance(codes, dict) and codes:
        return tuple(["background"] + [str(codes.get(v, f"label {v}")) for v in range(1, max(codes) + 1)])
    return ("background", "lesion")


def spacing_words(image) -> str:
    """``"spacing 0.7 × 0.7 mm"`` (three significant digits), or ``"no pixel spacing in the file"``
    when it is unknown: a photograph's stand-in 1 mm per pixel is never shown as millimetres."""
    if not image.spacing_known:
        return "no pixel spacing in the file"
    return "spacing " + " × ".join(f"{s:.3g}" for s in image.spacing) + " mm"


def _caption(image, caption, window, mask, class_names, opacity, outline) -> str:
    bits = [caption] if caption else []
    bits.append(f"{image.modality}, shape {tuple(image.shape)}, {spacing_words(image)}")
    if window is not None:
        bits.append(f"window L{window.center:g} / W{window.width:g}")
    if mask is not None:
        style = "outlined" if outline else f"filled at {opacity:.0%} opacity"
        legend = legend_words(mask, class_names, is_photo(image))  # a colour picture: its own colour order
        bits.append(f"ground-truth mask {style}: {legend}" if legend else "ground-truth mask is empty here")
    return " · ".join(bits)
