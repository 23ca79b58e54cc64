"""Lung extra: CT window presets on the nodule cube in three planes, and the nodule's size.

Windows are the case's presets (lung W1500/L−600, mediastinum W350/L50, bone) through
``medlearn.enhance.apply_window``; sizes come from ``medlearn.clinical.nodule_size``
(maximal in-plane Feret diameter, as Lung-RADS measures, and volume) on the phantom's
exact mask, next to the automatic Otsu outline the predictor uses on a crop.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.clinical import nodule_size, otsu_nodule_mask
from medlearn.data.image import Window
from medlearn.enhance import apply_window
from medlearn.errors import MedlearnError
from ui import cache
from ui.explain_view import focus_index
from ui.render import PLANES, plane_slice, plane_spacing, render_2d

VIEW_PX = 280


def render(case: CaseStudy) -> None:
    """Window presets and nodule size on a lung CT phantom."""
    st.subheader("🪟 CT windows and nodule size")
    st.markdown("CT values are Hounsfield units (air −1000, water 0, bone +1000). A window maps a range of "
                "them to grey: the lung window shows the parenchyma and the nodule's edge, the mediastinum "
                "window shows soft tissue and hides the lung.")
    _panel(case)


@st.fragment
def _panel(case: CaseStudy) -> None:
    key = f"extra.{case.key}.ct"
    presets = {name: Window(center, width, name) for name, center, width in case.window_presets}
    left, right = st.columns([1, 3])
    seed = int(left.number_input("Phantom seed", 0, 10_000, 0, key=f"{key}.seed"))
    name = right.radio("Window", list(presets), horizontal=True, key=f"{key}.window",
                       format_func=lambda n: f"{n} (W{presets[n].width:g} / L{presets[n].center:g})")
    try:
        phantom = cache.phantoms(case.key, seed, 0.5, ())[0]
    except MedlearnError as exc:
        st.error(str(exc), icon="🚫")
        return
    image, mask = phantom.image, np.asarray(phantom.mask)
    unit = apply_window(image, presets[name])
    for column, plane in zip(st.columns(3), PLANES):
        axis = PLANES.index(plane)
        index = focus_index(mask, axis, image.shape[axis] // 2)
        rgb = render_2d(plane_slice(unit, plane, index), plane_slice(mask, plane, index),
                        plane_spacing(image.spacing, plane), VIEW_PX, outline=True)
        column.image(rgb, width="stretch", caption=f"{plane} slice {index + 1} through the nodule (orange outline)")
    _sizes(mask, image)


def _sizes(mask: np.ndarray, image) -> None:
    try:
        truth = nodule_size(mask, image.spacing)
    except MedlearnError as exc:
        st.caption(f"No size: {exc}")
        return
    auto = otsu_nodule_mask(image.to_grey())
    a, b, c = st.columns(3)
    a.metric("Longest in-plane diameter", f"{truth['nodule_diameter_mm']:.1f} mm",
             help="Maximal Feret diameter in any axial slice: what Lung-RADS measures.")
    b.metric("Equivalent-sphere diameter", f"{truth['equivalent_diameter_mm']:.1f} mm")
    c.metric("Volume", f"{truth['nodule_volume_mm3']:.0f} mm³")
    if auto.any():
        rough = nodule_size(auto, image.spacing)
        st.caption(f"From the exact phantom mask. An automatic Otsu outline of the cube gives "
                   f"{rough['nodule_diameter_mm']:.1f} mm and {rough['nodule_volume_mm3']:.0f} mm³: thresholds "
                   "catch vessels and the chest wall, one reason measurements need care.")
