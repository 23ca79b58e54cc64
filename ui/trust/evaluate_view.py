"""The Evaluate lesson: the model's answers on held-out items, read at any threshold and any
prevalence; how honest its probabilities are; which items it gets wrong; and for whom.

The held-out answers are computed once per checkpoint (path and modification time) and kept
in session state; every widget below only re-reads them (:mod:`medlearn.trust.evaluation`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.predict import TrainedModel
from medlearn.trust import evaluation as ev
from medlearn.trust import subgroups as sg
from ui.shared import icons
from ui.shared.projector import style_chart
from ui.train.race_chart import PALETTE
from ui.shared.text import plain
from ui.trust.failures import gallery, render_detection, render_segmentation, subgroups

PREVALENCES = np.geomspace(0.001, 0.999, 200)


def render(case: CaseStudy, model: TrainedModel, key: str) -> None:
    """Held-out answers, then the lesson for a classifier or a segmenter."""
    held = _answers(case, model, key)
    if held is None:
        return
    result = held.evaluation
    st.caption(
        f"**{held.n} held-out items**" + (f" from {result.n_groups} patients" if result.n_groups < held.n else "")
        + f": {plain(result.split_note)}, "
        f"from {plain(result.data)}. The model never trained on them."
    )
    if result.notes:
        with st.expander("Notes on these figures", icon=icons.INFO):
            for note in result.notes:
                st.caption(plain(note))
    try:
        if case.task.is_detection:
            render_detection(case, model, held, key)
        else:
            (render_segmentation if held.segmentation else _classification)(case, model, held, key)
    except MedlearnError as exc:
        st.warning(plain(str(exc)), icon=icons.WARNING)


def _answers(case: CaseStudy, model: TrainedModel, key: str) -> ev.HeldOut | None:
    path = Path(model.checkpoint)
    signature = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    kept = st.session_state.get(f"{key}.answers")
    if kept is not None and kept[0] == signature:
        return kept[1]
    bar = st.progress(0.0, text="Predicting the held-out items…")
    try:
        held = ev.held_out(
            case.key,
            path,
            progress=lambda done, total: bar.progress(
                done / total, text=f"Predicting the held-out items: {done} of {total}"
            ),
        )
    except MedlearnError as exc:
        bar.empty()
        st.error(plain(str(exc)), icon=icons.ERROR)
        return None
    bar.empty()
    st.session_state[f"{key}.answers"] = (signature, held)
    return held


# -- classification ----------------------------------------------------------------------------
def _classification(case: CaseStudy, model: TrainedModel, held: ev.HeldOut, key: str) -> None:
    options = ev.events(held.class_names, case.task.ordinal)
    chosen = options[ev.default_event(options, case.task.ordinal)]
    if len(options) > 1:
        chosen = st.selectbox(
            "Positive event",
            options,
            index=options.index(chosen),
            key=f"{key}.event",
            format_func=lambda e: e.label,
            help="What counts as 'positive' for the curves.",
        )
    truth, score = chosen.truth(held.labels), chosen.score(held.probs)
    curves = ev.curves(truth, score)
    own = ev.operating(truth, np.isin(held.decisions(), chosen.classes), held.threshold)
    stored = held.threshold if held.threshold is not None and chosen.classes == (1,) else None
    left, right = st.columns(2)
    threshold = left.slider(
        "Threshold on p(" + chosen.label + ")",
        0.0,
        1.0,
        round(stored or 0.5, 2),
        0.01,
        key=f"{key}.threshold.{chosen.label}",
    )
    prevalence = (
        right.slider(
            "Prevalence where the model is used (%)",
            0.5,
            60.0,
            float(np.clip(round(curves.prevalence * 200) / 2, 0.5, 60.0)),
            0.5,
            key=f"{key}.prevalence",
            help=f"Starts at this set's own: {curves.prevalence:.1%} of these items are positive.",
        )
        / 100
    )
    at = ev.at_threshold(truth, score, threshold)
    ppv, npv = ev.predictive_values(at.sensitivity, at.specificity, prevalence)
    cols = st.columns(5)
    low, high = _interval(held, chosen, truth, score, key)
    cols[0].metric(
        "AUC",
        f"{curves.auc:.3f}",
        help=f"95 % interval {low:.2f} to {high:.2f} (bootstrap over "
        f"patients or items); n = {held.n}, {int(truth.sum())} positive",
    )
    cols[1].metric("Sensitivity", _pct(at.sensitivity), help=f"{at.tp} of {at.tp + at.fn} positives found")
    cols[2].metric("Specificity", _pct(at.specificity), help=f"{at.tn} of {at.tn + at.fp} negatives cleared")
    cols[3].metric(f"PPV at {prevalence:.1%}", _pct(ppv), help="Of the positive answers, how many are right")
    cols[4].metric(f"NPV at {prevalence:.1%}", _pct(npv), help="Of the negative answers, how many are right")
    point = (
        f"its stored operating threshold {stored:.2f}"
        if stored is not None
        else "its own decisions (the most probable class)"
    )
    st.caption(
        f"The square marks {point}: sensitivity {_pct(own.sensitivity)}, specificity "
        f"{_pct(own.specificity)}. Move the threshold: lower finds more positives and raises more "
        "false alarms."
    )
    a, b = st.columns(2)
    a.plotly_chart(_roc(curves, at, own), key=f"{key}.roc")
    a.caption(
        "ROC curve: every threshold at once. The closer to the top-left corner, the better the "
        "model ranks positives above negatives; the area under it is the AUC."
    )
    b.plotly_chart(_ppv_curve(at, prevalence), key=f"{key}.ppv")
    b.caption(
        "The same sensitivity and specificity where the disease is rarer: PPV falls, because "
        "most people tested are healthy and their few false alarms outnumber the true finds."
    )
    c, d = st.columns(2)
    c.plotly_chart(_pr(curves, at), key=f"{key}.pr")
    c.caption(
        f"Precision-recall: of the items called positive, how many are (precision), against how many "
        f"positives are found (recall). Average precision {curves.average_precision:.3f}; a coin "
        f"scores {curves.prevalence:.2f}, this set's prevalence."
    )
    with d:
        _calibration(held, key)
    st.markdown("**Where it fails**")
    cells = ev.cells(truth, score >= threshold, score)
    cell = (
        st.segmented_control(
            "Show the items of one cell of the confusion matrix",
            ev.CELLS,
            default=ev.CELLS[1],
            key=f"{key}.cell",
        )
        or ev.CELLS[1]
    )
    left, right = st.columns([2, 3])
    left.plotly_chart(_matrix(cells, cell), key=f"{key}.matrix", config={"displayModeBar": False})
    left.caption("Rows: the truth; columns: the model's answer at your threshold. Orange cells are mistakes.")
    with right:
        gallery(case, model, held, cell, cells[cell], score, chosen, key)
    subgroups(
        held,
        key,
        lambda g: sg.subgroup_table(g, truth=truth, score=score, decided=score >= threshold),
        f"sensitivity and specificity at the threshold {threshold:.2f}",
    )


def _matrix(cells: dict[str, np.ndarray], chosen: str) -> go.Figure:
    """The confusion matrix at the threshold: right answers in blue, mistakes in orange, the shown cell framed."""
    text = [[str(len(cells[c])) for c in row] for row in (ev.CELLS[:2], ev.CELLS[2:])]
    names = [list(ev.CELLS[:2]), list(ev.CELLS[2:])]
    fig = go.Figure(
        go.Heatmap(
            z=[[1, 0], [0, 1]],
            x=["positive", "negative"],
            y=["positive", "negative"],
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=20, color="black"),
            showscale=False,
            colorscale=[[0, PALETTE[1]], [1, PALETTE[0]]],
            opacity=0.45,
            customdata=names,
            hovertemplate="%{customdata}: %{text}<extra></extra>",
        )
    )
    row, col = divmod(ev.CELLS.index(chosen), 2)
    fig.add_shape(
        type="rect",
        x0=col - 0.48,
        x1=col + 0.48,
        y0=row - 0.48,
        y1=row + 0.48,
        line=dict(color="black", width=3),
    )
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10))
    fig.update_xaxes(title="the model says", side="top", tickangle=0)
    fig.update_yaxes(title="the truth", autorange="reversed")
    return style_chart(fig)


def _interval(held: ev.HeldOut, event: ev.Event, truth, score, key: str) -> tuple[float, float]:
    """The AUC's bootstrap interval of this event, computed once per answers and event."""
    store = st.session_state.setdefault(f"{key}.intervals", {})
    found = (id(held), event.classes)
    if found not in store:
        store[found] = ev.auc_interval(truth, score, held.groups)
    return store[found]


def _roc(curves: ev.Curves, at: ev.Operating, own: ev.Operating) -> go.Figure:
    fig = go.Figure(
        [
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="grey", dash="dot"), name="chance"),
            go.Scatter(
                x=curves.fpr,
                y=curves.tpr,
                mode="lines",
                line=dict(color=PALETTE[0]),
                name=f"model (AUC {curves.auc:.2f})",
                customdata=curves.roc_thresholds,
                hovertemplate="threshold %{customdata:.2f}<extra></extra>",
            ),
            _marker(1 - own.specificity, own.sensitivity, "square", PALETTE[2], "model's operating point"),
            _marker(1 - at.specificity, at.sensitivity, "circle", PALETTE[1], "your threshold"),
        ]
    )
    return _layout(fig, "1 − specificity (false-positive rate)", "sensitivity")


def _pr(curves: ev.Curves, at: ev.Operating) -> go.Figure:
    fig = go.Figure(
        [
            go.Scatter(
                x=curves.recall, y=curves.precision, mode="lines", line=dict(color=PALETTE[0]), name="model"
            ),
            go.Scatter(
                x=[0, 1],
                y=[curves.prevalence] * 2,
                mode="lines",
                name="chance",
                line=dict(color="grey", dash="dot"),
            ),
            _marker(at.sensitivity, at.ppv, "circle", PALETTE[1], "your threshold"),
        ]
    )
    return _layout(fig, "recall (sensitivity)", "precision (PPV in this set)")


def _ppv_curve(at: ev.Operating, prevalence: float) -> go.Figure:
    values = np.array([ev.predictive_values(at.sensitivity, at.specificity, p) for p in PREVALENCES])
    ppv, npv = ev.predictive_values(at.sensitivity, at.specificity, prevalence)
    fig = go.Figure(
        [
            go.Scatter(x=PREVALENCES * 100, y=values[:, 0], name="PPV", line=dict(color=PALETTE[1])),
            go.Scatter(x=PREVALENCES * 100, y=values[:, 1], name="NPV", line=dict(color=PALETTE[0])),
            _marker(prevalence * 100, ppv, "circle", PALETTE[1], "PPV here"),
            _marker(prevalence * 100, npv, "circle", PALETTE[0], "NPV here"),
        ]
    )
    fig.update_xaxes(type="log", range=[-1, 2], tickvals=[0.1, 0.5, 1, 5, 10, 50, 100])
    return _layout(fig, "prevalence (%), log scale", "predictive value", unit_x=False)


def _calibration(held: ev.HeldOut, key: str) -> None:
    before, after, t, fitted = ev.temperature_effect(held.labels, held.probs, held.temperature)
    fig = go.Figure(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", line=dict(color="grey", dash="dot"), name="perfectly calibrated"
        )
    )
    for rel, name, colour in ((before, "raw", PALETTE[1]), (after, f"T = {t:.2f}", PALETTE[0])):
        fig.add_trace(
            go.Scatter(
                x=rel.confidence,
                y=rel.accuracy,
                mode="lines+markers",
                name=f"{name}: ECE {rel.ece:.3f}",
                line=dict(color=colour),
                marker=dict(size=6 + 18 * np.sqrt(rel.count / held.n)),
                customdata=rel.count,
                hovertemplate="%{customdata} answers<extra></extra>",
            )
        )
    st.plotly_chart(_layout(fig, "confidence (top probability)", "how often right"), key=f"{key}.calibration")
    where = (
        "fitted here on these same items (optimistic)" if fitted else "fitted on validation during training"
    )
    st.caption(
        f"Reliability: when the model says 80 %, is it right 80 % of the time? Points below the diagonal "
        f"are over-confident. Temperature scaling ({where}) divides its log-probabilities by T: "
        f"ECE {before.ece:.3f} → {after.ece:.3f}. Dot size: answers in the bin."
    )


def _marker(x, y, symbol, colour, name) -> go.Scatter:
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        name=name,
        marker=dict(symbol=symbol, size=12, color=colour, line=dict(color="black", width=1)),
    )


def _layout(fig: go.Figure, x: str, y: str, unit_x: bool = True) -> go.Figure:
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(title=x, **({"range": [-0.02, 1.02]} if unit_x else {}))
    fig.update_yaxes(title=y, range=[-0.02, 1.02])
    return style_chart(fig)


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0%}"
