"""Heart extra: EDV, ESV and EF from the model's masks on cine phantoms, against the truth.

Each cine's end-diastolic and end-systolic stacks are segmented slice by slice by the
trained 2D model (``Predictor.predict`` on the stack), then ``medlearn.clinical.lv_function``
applies Simpson's method. Several cines give a scatter plot and a Bland-Altman plot
(Bland and Altman, Lancet 1986): bias and 95% limits of agreement of model vs truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from medlearn.explain.overlay import GREY, colour_hex
from medlearn.cases import CaseStudy
from medlearn.clinical import lv_function
from medlearn.data.image import MedImage
from medlearn.data.phantoms import make_cine
from medlearn.errors import MedlearnError
from ui.shared import icons, projector
from ui.shared.text import plain

CINE = {"n_slices": 8, "n_phases": 10, "size": 96}  # small cines: a few seconds for several on a CPU


def ef_rows(predictor, checkpoint: str, seeds: tuple[int, ...], cine: dict = CINE) -> pd.DataFrame:
    """One row per cine: true and predicted EDV, ESV (ml) and EF (%)."""
    rows = []
    for seed in seeds:
        c = make_cine(seed=seed, **cine)
        masks = []
        for phase in (c.ed_phase, c.es_phase):
            stack = MedImage(c.images[phase], spacing=c.spacing, modality="MR", source=f"cine {seed} phase {phase}")
            masks.append(predictor.predict("heart", stack, explain=None, checkpoint=checkpoint).mask)
        try:
            model = lv_function(masks[0], masks[1], c.spacing)
        except MedlearnError:  # no cavity found at end-diastole: EF undefined
            model = {"edv_ml": np.nan, "esv_ml": np.nan, "ef_percent": np.nan}
        rows.append({"cine seed": seed, "variant": c.variant, "EDV true": c.edv_ml, "EDV model": model["edv_ml"],
                     "ESV true": c.esv_ml, "ESV model": model["esv_ml"], "EF true": c.ef_percent,
                     "EF model": model["ef_percent"]})
    return pd.DataFrame(rows)


@st.cache_data(max_entries=8, show_spinner="Segmenting the ED and ES stacks of each cine…")
def _cached_rows(checkpoint: str, mtime: int, seeds: tuple[int, ...]) -> pd.DataFrame:
    from ui.predict.predict_panel import predictor

    return ef_rows(predictor(), checkpoint, seeds)


def agreement_figure(table: pd.DataFrame) -> go.Figure:
    """Scatter (model vs truth, identity line) and Bland-Altman (difference vs mean) of EF."""
    t = table.dropna(subset=["EF model"])
    fig = make_subplots(1, 2, subplot_titles=("EF: model against truth", "Bland-Altman: model − truth"))
    fig.add_scatter(x=t["EF true"], y=t["EF model"], mode="markers", marker=dict(color=colour_hex("blue"), size=10),
                    name="cine", row=1, col=1)
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", line=dict(dash="dash", color=GREY),
                    name="perfect agreement", row=1, col=1)
    mean, diff = (t["EF true"] + t["EF model"]) / 2, t["EF model"] - t["EF true"]
    fig.add_scatter(x=mean, y=diff, mode="markers", marker=dict(color=colour_hex("orange"), size=10), name="difference",
                    row=1, col=2)
    if len(t):
        bias, sd = float(diff.mean()), float(diff.std(ddof=1)) if len(t) > 1 else 0.0
        for y, dash in ((bias, "solid"), (bias + 1.96 * sd, "dot"), (bias - 1.96 * sd, "dot")):
            fig.add_hline(y=y, line_dash=dash, line_color=colour_hex("vermillion"), row=1, col=2)
    fig.update_xaxes(title_text="true EF (%)", row=1, col=1)
    fig.update_yaxes(title_text="model EF (%)", row=1, col=1)
    fig.update_xaxes(title_text="mean of the two (%)", row=1, col=2)
    fig.update_yaxes(title_text="model − truth (%)", row=1, col=2)
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=40), showlegend=False)
    return fig


def render(case: CaseStudy) -> None:
    """Button, table and agreement plots (computed once per model and set of cines, then cached)."""
    from ui.predict.predict_panel import trained_models

    st.subheader(f"{icons.HEART} Ejection fraction from the model's masks")
    st.markdown("The model segments every slice at end-diastole and end-systole; Simpson's method turns the "
                "masks into EDV and ESV, and EF = (EDV − ESV) / EDV. The phantom's values are exact.")
    key = f"extra.{case.key}.ef"
    models = trained_models(case)
    if not models:
        st.info("No trained heart model yet: train one in the Predict or Train section to measure EF with it.")
        return
    # The model's label (arch, run, data, score) is long: its box gets the whole width.
    index = st.selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model")
    mid, right = st.columns(2)
    n = int(mid.slider("Cine phantoms", 2, 6, 3, key=f"{key}.n"))
    first = int(right.number_input("First seed", 0, 10_000, 0, key=f"{key}.seed"))
    if not st.toggle("Measure EF on these cines", key=f"{key}.on"):
        return
    model = models[index]
    from pathlib import Path

    try:
        table = _cached_rows(model.checkpoint, Path(model.checkpoint).stat().st_mtime_ns, tuple(range(first, first + n)))
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    st.dataframe(table.round(1), hide_index=True, width="stretch")
    st.plotly_chart(projector.style_chart(agreement_figure(table)), width="stretch", key=f"{key}.plot")
    st.caption("Solid line: mean difference (bias); dotted: bias ± 1.96 SD, the 95% limits of agreement. "
               "For teaching, not for clinical use.")
