"""The FROC curves of a detection race: each run's sensitivity at 1/8..8 false positives per image.

Drawn under the race chart of a detection study (the lung page's "Detection", beside its
benign/malignant race): the points are the seven sensitivities the recorder stored for each
run's latest validation epoch (:mod:`medlearn.froc`), on a log-2 axis of false positives per
image, as LUNA16 plots them; the legend gives each run's CPM (their mean). Colours are the
race chart's (:func:`ui.train.race_chart.line_styles`: Okabe-Ito, a run keeps its colour, dash
and marker on both charts).
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from medlearn.froc import FP_RATES, HIT_RULE, rate_key, rate_label
from ui.shared.projector import style_chart
from ui.train.race_chart import Series, line_styles


def froc_points(epochs: list[dict]) -> tuple[list[float], float] | None:
    """The seven sensitivities and the CPM of the latest epoch that has them, or None."""
    for row in reversed(epochs):
        values = [row.get(rate_key(r)) for r in FP_RATES]
        if all(isinstance(v, (int, float)) and v == v for v in values):
            return [float(v) for v in values], float(row.get("cpm", sum(values) / len(values)))
    return None


def froc_axes(fig: go.Figure, objects: str = "nodules") -> go.Figure:
    """The FROC axes, as LUNA16 draws them: false positives per image at 1/8..8 on a log axis,
    sensitivity 0-100 %. One definition for the race's chart and the Trust section's."""
    fig.update_xaxes(type="log", tickvals=list(FP_RATES), ticktext=[rate_label(r) for r in FP_RATES],
                     title_text="false positives per image (log scale)")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text=f"sensitivity ({objects} found)")
    return fig


def froc_figure(series: list[Series], height: int = 340) -> go.Figure | None:
    """One FROC line per run that has a scored validation epoch; None when none has."""
    fig = go.Figure()
    for s, style in zip(series, line_styles(series)):  # the race chart's colours, dashes and markers
        points = froc_points(s.epochs)
        if points is None:
            continue
        sens, cpm = points
        fig.add_trace(go.Scatter(x=list(FP_RATES), y=sens, mode="lines+markers", name=f"{s.label} · CPM {cpm:.3f}",
                                 line=dict(color=style.colour, dash=style.dash),
                                 marker=dict(symbol=style.symbol, size=8),
                                 hovertemplate="%{y:.1%} of nodules found at %{x} false positives per image"
                                               "<extra></extra>"))
    if not fig.data:
        return None
    froc_axes(fig)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=40), title="FROC at the last validation",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    return style_chart(fig)


def render_froc(series: list[Series], key: str) -> None:
    """The FROC chart with what it means, or a line saying it comes after the first epoch."""
    fig = froc_figure(series)
    if fig is None:
        st.caption("The FROC curve of each run appears here after its first validation epoch.")
        return
    st.plotly_chart(fig, key=key, config={"displaylogo": False})
    st.caption("FROC: the share of the validation nodules each detector finds as it is allowed more false alarms "
               "per image (1/8 to 8, LUNA16's points); the CPM in the legend is the mean of the seven. "
               f"A box counts as finding a nodule when {HIT_RULE}. Per image here, per scan in LUNA16.")
