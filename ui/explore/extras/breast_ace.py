"""Breast extra: adaptive contrast enhancement (ACE) before/after, beside CLAHE, with histograms.

ACE and CLAHE come from ``medlearn.enhance`` (CLAHE is scikit-image's); this module only
draws. The image is the one open in the data browser above (``ui.explore.browser.shown_sample``:
the phantom lab's seed or the sample opened), so both panels show the same case. The panel
is an ``st.fragment``, so a slider move recomputes ACE on that one image and redraws,
nothing else.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from medlearn.explain.overlay import GREY, colour_hex
from medlearn.cases import CaseStudy
from medlearn.enhance import ace, clahe
from medlearn.errors import MedlearnError
from ui.shared import icons, projector
from ui.explore.browser import shown_sample
from ui.shared.render import render_2d
from ui.shared.text import plain

VIEW_PX = 300
COLOURS = {"original": GREY, "ACE": colour_hex("blue"), "CLAHE": colour_hex("orange")}  # the one palette


def render(case: CaseStudy) -> None:
    """The ACE / CLAHE panel on the image open in the data browser."""
    st.subheader(f"{icons.CONTRAST} Adaptive contrast enhancement (ACE) against CLAHE")
    st.markdown("ACE (Lee 1980; Narendra and Fitch 1981): out = m + G·(I − m) with m, σ the local mean and "
                "standard deviation in a window and G = min(α·σ_global / σ, G_max). It lifts faint local "
                "contrast (lesion margins) and the cap G_max stops flat, noisy regions from exploding. CLAHE "
                "(scikit-image `equalize_adapthist`) equalises histograms tile by tile instead.")
    shown = shown_sample(case)
    if shown is None or shown.image.spatial_dims != 2:
        st.info("Open a phantom or a sample in the data browser above to enhance it here.", icon=icons.INFO)
        return
    _panel(case, shown.image, shown.caption)


@st.fragment
def _panel(case: CaseStudy, image, caption: str) -> None:
    key = f"extra.{case.key}.ace"
    c = st.columns(4)
    window = int(c[0].slider("ACE window (px)", 3, 63, 15, 2, key=f"{key}.window"))
    alpha = float(c[1].slider("Gain α", 0.1, 5.0, 1.0, 0.1, key=f"{key}.alpha"))
    cap = float(c[2].slider("Gain cap G_max", 1.0, 10.0, 3.0, 0.5, key=f"{key}.cap"))
    clip = float(c[3].slider("CLAHE clip limit", 0.002, 0.1, 0.01, 0.002, format="%.3f", key=f"{key}.clip"))
    try:
        views = enhanced_views(image, window, alpha, cap, clip)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    for column, (name, unit) in zip(st.columns(3), views.items()):
        column.image(render_2d(unit, None, image.spacing, VIEW_PX), width="stretch",
                     caption=_caption(name, window, alpha, cap, clip, caption))
    st.plotly_chart(projector.style_chart(histogram_figure(views)), width="stretch", key=f"{key}.hist")


def enhanced_views(image, window: int, alpha: float, cap: float, clip: float) -> dict[str, np.ndarray]:
    """Original, ACE and CLAHE as [0, 1] display images (ACE through the original's window)."""
    return {"original": image.windowed(), "ACE": ace(image, window, alpha, cap).windowed(image.window),
            "CLAHE": clahe(image, clip).windowed()}


def histogram_figure(views: dict[str, np.ndarray], bins: int = 64) -> go.Figure:
    """Overlaid intensity histograms of the displayed images (share of pixels per bin).

    The bins are counted here, so the chart carries ``bins`` numbers per image, not every
    pixel of a full-size ultrasound picture."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig = go.Figure()
    for name, unit in views.items():
        counts, _ = np.histogram(np.clip(np.ravel(unit), 0.0, 1.0), bins=edges)
        fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / max(counts.sum(), 1), width=1.0 / bins,
                             name=name, opacity=0.55, marker_color=COLOURS.get(name)))
    fig.update_layout(barmode="overlay", height=260, margin=dict(l=10, r=10, t=30, b=40),
                      xaxis_title="display intensity (0 = black, 1 = white)", yaxis_title="share of pixels",
                      title="Histograms: ACE and CLAHE spread the grey levels")
    return fig


def _caption(name: str, window: int, alpha: float, cap: float, clip: float, shown: str) -> str:
    if name == "ACE":
        return f"ACE: window {window} px, α = {alpha:g}, G_max = {cap:g} (values beyond the original window clip)"
    if name == "CLAHE":
        return f"CLAHE: clip limit {clip:g}"
    return f"Original: {shown}"
