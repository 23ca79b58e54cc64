"""Where the model fails, for the Evaluate lesson: the held-out items of one confusion cell with
their Grad-CAM and the expert's outline, a segmenter's Dice per image with its worst cases,
and the scores by subgroup. Each picture is predicted once per checkpoint and item.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.explain import heatmap_overlay, mask_overlay
from medlearn.predict import TrainedModel
from medlearn.trust import evaluation as ev
from medlearn.trust import subgroups as sg
from ui.predict.explain_view import focus_index, slice_base, to_display
from ui.shared.projector import style_chart
from ui.train.race_chart import PALETTE
from ui.shared.render import plane_slice
from ui.shared.text import plain

GALLERY = 6


def render_detection(case: CaseStudy, model: TrainedModel, held: ev.HeldOut, key: str) -> None:
    """A box detector on its held-out images: the FROC with 95 % intervals at LUNA16's seven
    false-positive rates, the CPM, and the images where it missed most."""
    from medlearn.froc import FP_RATES, HIT_RULE, rate_key
    from ui.train.froc_view import froc_axes

    result = held.evaluation
    cpm = result.figure("cpm")
    interval = f" [{cpm.low:.3f}, {cpm.high:.3f}]" if math.isfinite(cpm.low) else ""
    st.metric("CPM (mean sensitivity at 1/8 to 8 false positives per image) [95 % interval]",
              f"{cpm.value:.3f}{interval}",
              help=f"n = {cpm.n} images; " + (f"95 % interval {cpm.low:.3f} to {cpm.high:.3f} (bootstrap over "
                                              "patients or images)" if math.isfinite(cpm.low)
                                              else "no interval: fewer than two patients or images"))
    points = [result.figure(rate_key(r)) for r in FP_RATES]
    fig = go.Figure(go.Scatter(
        x=list(FP_RATES), y=[f.value for f in points], mode="lines+markers", marker_color=PALETTE[0],
        error_y=dict(type="data", symmetric=False, array=[max(0.0, f.high - f.value) for f in points],
                     arrayminus=[max(0.0, f.value - f.low) for f in points], visible=all(math.isfinite(f.low)
                                                                                          for f in points)),
        hovertemplate="%{y:.1%} of the objects found at %{x} false positives per image<extra></extra>"))
    froc_axes(fig, "objects")
    fig.update_layout(height=300, showlegend=False, margin=dict(l=10, r=10, t=10, b=40))
    st.plotly_chart(style_chart(fig), key=f"{key}.froc")
    st.caption(f"FROC on held-out images with 95 % intervals: lower the score it acts on and the detector finds "
               f"more objects at the price of more false alarms. A box finds an object when {HIT_RULE}.")
    rows = [r for r in result.items if "error" not in r]
    table = pd.DataFrame([{"image": r["id"], "objects": r["objects"], "found": r["found"],
                           "missed": r["objects"] - r["found"], "false alarms": r["false_positives"]}
                          for r in rows])
    if len(table):
        table = table.sort_values(["missed", "false alarms"], ascending=False)
        st.markdown("**Image by image**, most missed objects first (every box the detector gives, at any score).")
        st.dataframe(table, hide_index=True, width="stretch", height=min(36 * (len(table) + 1) + 2, 320))


def render_segmentation(case: CaseStudy, model: TrainedModel, held: ev.HeldOut, key: str) -> None:
    figure = held.evaluation.figure("dice")
    unit = "volume" if held.items and held.items[0].image.spatial_dims == 3 else "image"
    st.metric(
        "Mean Dice",
        f"{figure.value:.3f}",
        help=f"n = {figure.n}; "
        + (f"95 % interval {figure.low:.3f} to {figure.high:.3f} (bootstrap over patients or items)"
           if math.isfinite(figure.low) else "no interval: the items come from fewer than two patients"),
    )
    fig = go.Figure(
        go.Box(
            x=held.dice,
            boxpoints="all",
            jitter=0.4,
            name="",
            marker_color=PALETTE[0],
            customdata=held.ids,
            hovertemplate="%{customdata}: Dice %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(height=220, showlegend=False, margin=dict(l=10, r=10, t=10, b=40))
    fig.update_xaxes(title=f"Dice per {unit} (1 = the expert's outline exactly)", range=[0, 1.02])
    st.plotly_chart(style_chart(fig), key=f"{key}.dice")
    st.caption(
        f"One dot per held-out {unit}. The mean hides the spread: look at the dots on the left, then at "
        "those cases below."
    )
    order = ev.worst(held.dice, GALLERY)
    st.markdown(f"**The {len(order)} worst {unit}s**: the model's outline beside the expert's.")
    for row in range(0, len(order), 3):
        for column, i in zip(st.columns(3), order[row : row + 3]):
            pred = _predict(case, model, held, int(i), None, key)
            if pred is not None:
                item = held.items[i]
                column.image(
                    _picture(item.image, None, pred.mask, item.mask),
                    width="stretch",
                    caption=plain(f"{held.ids[i]}: Dice {held.dice[i]:.3f}. Left: the model, right: expert"),
                )
    subgroups(held, key, lambda g: sg.subgroup_table(g, dice=held.dice), "Dice")


def gallery(case, model, held, cell: str, picks: np.ndarray, score, event, key) -> None:
    st.caption(
        f"**{cell.capitalize()}s** at your threshold ({len(picks)}), most confident first, with p = "
        f"p({plain(event.label)}); the heat "
        "map (Grad-CAM) shows where the model looked, the outline the expert's lesion where the data has one."
    )
    picks = picks[:GALLERY]
    for row in range(0, len(picks), 2):
        for column, i in zip(st.columns(2), picks[row : row + 2]):
            pred = _predict(case, model, held, int(i), "gradcam", key)
            if pred is not None:
                item = held.items[i]
                column.image(
                    _picture(item.image, pred.explanation, None, getattr(item, "mask", None)),
                    width="stretch",
                    caption=plain(
                        f"{held.ids[i]}: truth {held.class_names[held.labels[i]]}, p = {score[i]:.2f}"
                    ),
                )


def subgroups(held: ev.HeldOut, key: str, table, what: str) -> None:
    fields = sg.subgroup_fields(held.facts)
    if not fields:
        st.caption("Subgroups: these items carry no facts (source, size, scanner...) that split them.")
        return
    keys: dict[str, str] = {}
    for field, name in fields:
        keys.setdefault(name, field)  # two facts of one name (source, dataset): the first
    words = st.selectbox("Subgroups by", list(keys), key=f"{key}.subgroup")
    rows = [
        {k: ("—" if math.isnan(v) else f"{v:.3f}") if isinstance(v, float) else v for k, v in row.items()}
        for row in table(sg.group_labels(held.facts, keys[words]))
    ]  # NaN (one class only): a dash
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(
        f"{what.capitalize()} by {words}, from what the data says about each item. A model can be "
        "good on average and poor for one group; with a few items per group, read n before the figures."
    )


def _predict(case, model, held, index: int, explain: str | None, key: str):
    from ui.predict.predict_panel import predictor

    store = st.session_state.setdefault(f"{key}.gallery", {})
    found = (model.checkpoint, held.ids[index], explain)
    if found not in store:
        try:
            store[found] = predictor().predict(
                case.key, held.items[index].image, explain=explain, checkpoint=model.checkpoint
            )
        except MedlearnError as exc:
            st.caption(plain(f"{held.ids[index]}: {exc}"))
            return None
    return store[found]


def _picture(image, heat, mask, truth) -> np.ndarray:
    """A 2D picture (a volume's axial slice where the truth or map is largest): the heat map
    with the expert outline, or the model's mask beside the expert's."""
    index = (
        focus_index(truth if truth is not None and np.any(truth) else heat, 0, 0)
        if image.spatial_dims == 3
        else 0
    )
    cut = (lambda a: a) if image.spatial_dims == 2 else (lambda a: plane_slice(np.asarray(a), "axial", index))
    base = slice_base(image, "axial", index)
    if mask is not None:
        panels = [mask_overlay(base, cut(mask), "fill", 0.45), mask_overlay(base, cut(truth), "fill", 0.45)]
        return to_display(np.concatenate(panels, 1), base.spacing, 480)
    rgb = (
        heatmap_overlay(base, cut(heat), "viridis", 0.45)
        if heat is not None
        else heatmap_overlay(base, np.zeros(base.spatial_shape, np.float32), "viridis", 0.0)
    )
    if truth is not None and np.any(truth):
        rgb = mask_overlay(rgb, cut(truth) > 0, "outline")
    return to_display(rgb, base.spacing, 300)
