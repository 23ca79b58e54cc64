"""A detector's answer on the Predict section: boxes with scores on the slice, the Grad-CAM of
its top box, and how the boxes fare against a known truth at the score you choose.

The boxes come from :attr:`medlearn.predict.Prediction.boxes`, the heat map from
:mod:`medlearn.models.detection.cam` (Grad-CAM of the top box's score). The pictures are the
instance view's (:func:`ui.predict.instances.instance_figure`: each box in its class's palette
colour with its rank and score), the true boxes added dashed in the next palette colour (sky
blue). The score slider runs in an ``st.fragment``: moving it redraws the pictures only.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.explain import get_method, heatmap_overlay
from medlearn.explain.overlay import label_colour, to_rgb_uint8
from medlearn.froc import HIT_RULE, match, truth_boxes
from medlearn.models.instances import Instances
from medlearn.predict import Prediction
from ui.predict.explain_view import render_card, render_familiarity, timing_caption
from ui.predict.instances import instance_figure, instance_table
from ui.shared import icons, projector
from ui.shared.text import counted, plain

VIEW_PX = 320
TRUTH_COLOUR = "rgb{}".format(label_colour(2)[1])  # sky blue: the palette's colour after the boxes' orange


def as_instances(pred: Prediction, shape: tuple[int, int], names: tuple[str, ...], threshold: float = 0.0) -> Instances:
    """The prediction's boxes scoring at least ``threshold`` as :class:`Instances` on the image."""
    kept = [b for b in (pred.boxes or []) if b["score"] >= threshold]
    return Instances(np.array([b["box"] for b in kept], np.float32).reshape(-1, 4),
                     np.array([names.index(b["label"]) for b in kept], np.int64),
                     np.array([b["score"] for b in kept], np.float32), None, shape)


def add_truth(fig, boxes: np.ndarray, shape: tuple[int, int], px_shape: tuple[int, int]) -> None:
    """The true boxes, dashed sky blue (drawn just outside), on an :func:`instance_figure` of an image of ``shape``."""
    sy, sx = px_shape[0] / shape[0], px_shape[1] / shape[1]
    for x0, y0, x1, y1 in boxes:  # 3 display pixels outside the box: a predicted box on it stays visible
        fig.add_shape(type="rect", x0=x0 * sx - 3.5, x1=x1 * sx + 2.5, y0=y0 * sy - 3.5, y1=y1 * sy + 2.5,
                      line=dict(color=TRUTH_COLOUR, width=2, dash="dash"))


def shown_boxes(pred: Prediction, threshold: float) -> list[dict]:
    """The boxes scoring at least ``threshold``, best first."""
    return [b for b in (pred.boxes or []) if b["score"] >= threshold]


def tally(case: CaseStudy, pred: Prediction, truth_mask: np.ndarray, threshold: float) -> dict:
    """Against the truth's regions at ``threshold``: nodules found, missed and false positives
    (the hit rule of :mod:`medlearn.froc`)."""
    boxes = shown_boxes(pred, threshold)
    truth, labels = truth_boxes(truth_mask, case.task.num_classes)
    names = case.task.class_names
    result = match(np.array([b["box"] for b in boxes]).reshape(-1, 4), np.array([b["score"] for b in boxes]),
                   truth, np.array([names.index(b["label"]) for b in boxes], int), labels)
    found = int((result.tp > 0).sum())
    return {"objects": len(truth), "found": found, "missed": len(truth) - found, "false_positives": len(result.fp),
            "truth": truth}


def render_detection(case: CaseStudy, item, pred: Prediction, key: str) -> None:
    """Headline, notes, then the pictures and the tally (the score slider redraws only them)."""
    if pred.warning:
        st.warning(pred.warning, icon=icons.WARNING)
    render_familiarity(pred)
    best = pred.boxes[0]["score"] if pred.boxes else None
    found = counted(len(shown_boxes(pred, 0.5)), f"{case.task.class_names[1]} box", f"{case.task.class_names[1]} boxes")
    st.markdown(f"### Model: {found} scoring 0.50 or more"
                + (f" · top score {best:.2f}" if best is not None else " (it gave no box at any score)"))
    _pictures(case, item, pred, key)
    st.caption(timing_caption(pred))
    st.caption(f"{icons.WEIGHTS} Weights: {pred.weights_note}")
    for note in pred.notes:
        st.caption(f"{icons.INFO} {plain(note)}")
    st.markdown(f"**{icons.WARNING} {pred.disclaimer}**")
    render_card(pred)


@st.fragment
def _pictures(case: CaseStudy, item, pred: Prediction, key: str) -> None:
    threshold = st.slider("Show boxes scoring at least", 0.05, 0.95, 0.5, 0.05, key=f"{key}.threshold",
                          help="A detector acts on the boxes above a score you choose: lower it and it finds more "
                               "nodules and raises more false alarms (the trade-off the FROC curve plots).")
    image, names = item.image, case.task.class_names
    shape = tuple(image.spatial_shape)
    spacing = tuple(image.spacing[-2:])
    shown = as_instances(pred, shape, names, threshold)
    truth = tally(case, pred, item.mask, threshold) if item.mask is not None else None
    left, middle = st.columns(2)
    with left:
        fig = instance_figure(image, shown, names, spacing, px=VIEW_PX, large=projector.is_on())
        if truth is not None:
            add_truth(fig, truth["truth"], shape, fig.data[0].z.shape[:2])
        st.plotly_chart(fig, key=f"{key}.boxes", config={"displaylogo": False})
        st.caption(f"The model's {counted(len(shown), 'box', 'boxes')} scoring {threshold:.2f} or more, each with its rank and "
                   "score" + ("; dashed sky blue: the true nodules." if truth is not None else "."))
    with middle:
        _explanation(pred, image, names, spacing, key)
    tally_col, table_col = st.columns([3, 2])
    with tally_col:
        if truth is None:
            st.caption("No truth is known for this image, so the boxes cannot be scored. Pick a phantom or a "
                       "dataset image to see found nodules and false alarms.")
        else:
            a, b = st.columns(2)
            a.metric("Nodules found", f"{truth['found']} of {truth['objects']}",
                     help=f"A box finds a nodule when {HIT_RULE}.")
            b.metric("False positives", truth["false_positives"], help="Boxes at this score that find no nodule.")
            st.caption(f"At score {threshold:.2f}. Slide the score down: more nodules found, more false alarms. "
                       "Over many images that trade-off is the FROC curve (Train section).")
    with table_col:
        if len(shown):
            table = instance_table(shown, names, spacing)
            table = table[[c for c in table.columns if not c.startswith("mask")]]  # a box detector draws no mask
            st.dataframe(table, hide_index=True, width="stretch", height=min(240, 38 + 35 * len(shown)))


def _explanation(pred: Prediction, image, names: tuple[str, ...], spacing, key: str) -> None:
    """The heat map of the top box's score with that box, or why there is none."""
    shape = tuple(image.spatial_shape)
    if pred.explanation is None or not pred.boxes or not np.any(pred.explanation > 1e-6):
        if pred.explanation is None:
            why = ("No explanation asked for: choose Grad-CAM above to see which regions raised the top box's "
                   "score.")
        elif not pred.boxes:
            why = "No explanation: the model drew no box on this slice, so there is no score to explain."
        else:
            why = "The heat map is empty: no region at the layer it reads raised the top box's score."
        st.plotly_chart(instance_figure(image, as_instances(pred, shape, names, 2.0), names, spacing, px=VIEW_PX),
                        key=f"{key}.cam", config={"displaylogo": False})
        st.caption(why)
        return
    title = get_method(pred.explain_method).title if pred.explain_method else "Grad-CAM"
    top = pred.boxes[0]
    heat = heatmap_overlay(to_rgb_uint8(image), pred.explanation, "viridis", 0.45)
    best = as_instances(pred, shape, names, top["score"])
    st.plotly_chart(instance_figure(heat, best, names, spacing, px=VIEW_PX), key=f"{key}.cam",
                    config={"displaylogo": False})
    st.caption(f"{title} of the top box's score ({top['score']:.2f}, outlined): bright yellow = regions that most "
               "raised it, dark purple = little influence. Scaled 0-1 within this image; where the model looked, "
               "not a probability.")
