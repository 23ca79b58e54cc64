"""Lung extra: the nodule open in the data browser under each CT window side by side, and its size.

Windows are the case's presets (lung W1500/L−600, mediastinum W350/L50, bone) through
``medlearn.enhance.apply_window``, on the axial slice through the nodule of the case the
browser has open (``ui.explore.browser.shown_sample``: no second seed to keep in step); sizes come
from ``medlearn.clinical.nodule_size`` (maximal in-plane Feret diameter, as Lung-RADS
measures, and volume) on the exact mask, next to the automatic Otsu outline the
predictor uses on a crop.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.clinical import nodule_size, otsu_nodule_mask
from medlearn.data.image import Window
from medlearn.enhance import apply_window
from medlearn.errors import MedlearnError
from ui.shared import icons
from ui.explore.browser import shown_sample
from ui.predict.explain_view import focus_index
from ui.shared.render import plane_slice, plane_spacing, render_2d

VIEW_PX = 280


def render(case: CaseStudy) -> None:
    """The browser's nodule under every window preset, and its size."""
    st.subheader(f"{icons.WINDOW} CT windows and nodule size")
    st.markdown("CT values are Hounsfield units (air −1000, water 0, bone +1000). A window maps a range of "
                "them to grey: the lung window shows the parenchyma and the nodule's edge, the mediastinum "
                "window shows soft tissue and hides the lung, the bone window only calcium.")
    shown = shown_sample(case)
    if shown is None or shown.image.spatial_dims != 3 or shown.image.modality != "CT":
        st.info("Open a CT cube (a phantom or a NoduleMNIST3D sample) in the data browser above to see it under "
                "each window. 2D crops exported as pictures (LIDC PNGs) hold grey levels, not Hounsfield units.")
        return
    image = shown.image
    mask = None if shown.mask is None else np.asarray(shown.mask)
    st.caption(f"The case open above: {shown.caption}.")
    index = focus_index(mask, 0, image.shape[0] // 2)
    part = None if mask is None else plane_slice(mask, "axial", index)
    for column, (name, center, width) in zip(st.columns(len(case.window_presets)), case.window_presets):
        unit = apply_window(image, Window(center, width, name))
        rgb = render_2d(plane_slice(unit, "axial", index), part, plane_spacing(image.spacing, "axial"), VIEW_PX,
                        outline=True)
        column.image(rgb, width="stretch", caption=f"{name} window (W{width:g} / L{center:g}), axial slice "
                                                   f"{index + 1}" + (" with the nodule outlined" if part is not None
                                                                     else ""))
    if mask is not None and mask.any():
        _sizes(mask, image)


def _sizes(mask: np.ndarray, image) -> None:
    # without a pixel spacing in the file (NoduleMNIST3D cubes), sizes are counted in voxels
    spacing, mm, mm3 = (image.spacing, "mm", "mm³") if image.spacing_known else ((1.0,) * 3, "px", "px³")
    if not image.spacing_known:
        st.caption("This cube carries no pixel spacing, so sizes are in pixels, not millimetres.")
    try:
        truth = nodule_size(mask, spacing)
    except MedlearnError as exc:
        st.caption(f"No size: {exc}")
        return
    auto = otsu_nodule_mask(image.to_grey())
    a, b, c = st.columns(3)
    a.metric("Longest in-plane diameter", f"{truth['nodule_diameter_mm']:.1f} {mm}",
             help="Maximal Feret diameter in any axial slice: what Lung-RADS measures.")
    b.metric("Equivalent-sphere diameter", f"{truth['equivalent_diameter_mm']:.1f} {mm}")
    c.metric("Volume", f"{truth['nodule_volume_mm3']:.0f} {mm3}")
    if auto.any():
        rough = nodule_size(auto, spacing)
        st.caption(f"From the exact phantom mask. An automatic Otsu outline of the cube gives "
                   f"{rough['nodule_diameter_mm']:.1f} {mm} and {rough['nodule_volume_mm3']:.0f} {mm3}: "
                   "thresholds catch vessels and the chest wall, one reason measurements need care.")
