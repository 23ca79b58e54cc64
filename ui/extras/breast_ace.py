"""Breast extra: adaptive contrast enhancement (ACE) before/after, beside CLAHE, with histograms.

ACE and CLAHE come from ``medlearn.enhance`` (CLAHE is scikit-image's); this module only
draws. The panel is an ``st.fragment``, so a slider move recomputes ACE on one 128-px
image and redraws, nothing else.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.enhance import ace, clahe
from medlearn.errors import MedlearnError
from ui import cache, icons, projector
from ui.render import render_2d
from ui.text import plain

VIEW_PX = 300
COLOURS = {"original": "#999999", "ACE": "#0072B2", "CLAHE": "#E69F00"}  # Okabe-Ito


def render(case: CaseStudy) -> None:
    """The ACE / CLAHE panel on a breast ultrasound phantom."""
    st.subheader(f"{icons.CONTRAST} Adaptive contrast enhancement (ACE) against CLAHE")
    st.markdown("ACE (Lee 1980; Narendra and Fitch 1981): out = m + G·(I − m) with m, σ the local mean and "
                "standard deviation in a window and G = min(α·σ_global / σ, G_max). It lifts faint local "
                "contrast (lesion margins) and the cap G_max stops flat, noisy regions from exploding. CLAHE "
                "(scikit-image `equalize_adapthist`) equalises histograms tile by tile instead.")
    _panel(case)


@st.fragment
def _panel(case: CaseStudy) -> None:
    key = f"extra.{case.key}.ace"
    c = st.columns(5)
    seed = int(c[0].number_input("Phantom seed", 0, 10_000, 0, key=f"{key}.seed"))
    window = int(c[1].slider("ACE window (px)", 3, 63, 15, 2, key=f"{key}.window"))
    alpha = float(c[2].slider("Gain α", 0.1, 5.0, 1.0, 0.1, key=f"{key}.alpha"))
    cap = float(c[3].slider("Gain cap G_max", 1.0, 10.0, 3.0, 0.5, key=f"{key}.cap"))
    clip = float(c[4].slider("CLAHE clip limit", 0.002, 0.1, 0.01, 0.002, format="%.3f", key=f"{key}.clip"))
    try:
        image = cache.phantoms(case.key, seed, 0.5, ())[0].image
        views = enhanced_views(image, window, alpha, cap, clip)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    for column, (name, unit) in zip(st.columns(3), views.items()):
        column.image(render_2d(unit, None, image.spacing, VIEW_PX), width="stretch", caption=_caption(name, window,
                                                                                                     alpha, cap, clip))
    st.plotly_chart(projector.style_chart(histogram_figure(views)), width="stretch", key=f"{key}.hist")


def enhanced_views(image, window: int, alpha: float, cap: float, clip: float) -> dict[str, np.ndarray]:
    """Original, ACE and CLAHE as [0, 1] display images (ACE through the original's window)."""
    return {"original": image.windowed(), "ACE": ace(image, window, alpha, cap).windowed(image.window),
            "CLAHE": clahe(image, clip).windowed()}


def histogram_figure(views: dict[str, np.ndarray]) -> go.Figure:
    """Overlaid intensity histograms of the displayed images (share of pixels per bin)."""
    fig = go.Figure()
    for name, unit in views.items():
        fig.add_trace(go.Histogram(x=np.ravel(unit), name=name, nbinsx=64, histnorm="probability", opacity=0.55,
                                   marker_color=COLOURS.get(name)))
    fig.update_layout(barmode="overlay", height=260, margin=dict(l=10, r=10, t=30, b=40),
                      xaxis_title="display intensity (0 = black, 1 = white)", yaxis_title="share of pixels",
                      title="Histograms: ACE and CLAHE spread the grey levels")
    return fig


def _caption(name: str, window: int, alpha: float, cap: float, clip: float) -> str:
    if name == "ACE":
        return f"ACE: window {window} px, α = {alpha:g}, G_max = {cap:g} (values beyond the original window clip)"
    if name == "CLAHE":
        return f"CLAHE: clip limit {clip:g}"
    return "Original phantom (synthetic, not a patient)"
