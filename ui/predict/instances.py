"""Instance view: the objects an instance segmenter (Mask R-CNN) found, each with its box,
mask and score, on the slice the Predict section answered.

Shown below the answer only when the answering network offers ``instances(x)`` (nothing
branches on a model's name). The objects come from
:func:`medlearn.models.instances.instances_on_image` (the image prepared by the model card, the
shared model under its lock), the colours from the one palette of
:mod:`medlearn.explain.overlay` (a class's colour, as in every mask overlay). The view is an
``st.fragment``: the score threshold and the slice redraw it alone, and the objects of a
slice are found once per image, checkpoint and slice (kept in session state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnError
from medlearn.explain.overlay import label_colour, mask_overlay, to_rgb_uint8
from medlearn.models.instances import Instances
from medlearn.predict import Prediction, TrainedModel
from ui.predict.explain_view import focus_index, slice_base, to_display
from ui.shared import icons, projector
from ui.shared.render import plane_slice
from ui.shared.text import counted, plain
from ui.shared.viewers import slice_control

VIEW_PX = 420
MASK_LEVEL = 0.5  # a pixel belongs to an object where its mask probability reaches this


def _served(checkpoint: str):
    """The answering network as the predictor serves it (loaded once, cached), or None."""
    from medlearn.predict import default_predictor

    try:
        return default_predictor().load(checkpoint)
    except MedlearnError:
        return None


def offers_instances(checkpoint: str) -> bool:
    """Whether the network of ``checkpoint`` finds separate objects (has ``instances(x)``)."""
    loaded = _served(checkpoint)
    return loaded is not None and loaded.is_network and callable(getattr(loaded.model, "instances", None))


def render_instances(case: CaseStudy, image: MedImage, item_id: str, pred: Prediction, model: TrainedModel,
                     key: str, truth: np.ndarray | None = None) -> None:
    """The instance view for an answer of ``model`` on ``image`` (nothing when it finds no instances);
    a volume opens on the slice where the predicted mask (else the ``truth`` mask) is largest."""
    if not offers_instances(model.checkpoint):
        return
    st.markdown(f"##### {icons.LAYERS} The objects it found: boxes, masks and scores")
    st.caption("Mask R-CNN works in two steps: it first proposes boxes around objects and scores each one "
               "(how sure it is that the box holds that class), then draws a mask inside every box. The "
               "segmentation above is made from these objects: each pixel takes the class whose score × mask "
               "probability is largest, background where none reaches it.")
    _view(case, image, item_id, pred, model, key, truth)


@st.fragment
def _view(case: CaseStudy, image: MedImage, item_id: str, pred: Prediction, model: TrainedModel, key: str,
          truth: np.ndarray | None) -> None:
    left, right = st.columns(2, gap="medium")
    threshold = left.slider("Show objects scoring at least", 0.05, 0.95, 0.5, 0.05, key=f"{key}.threshold",
                            help="Mask R-CNN keeps every box scoring 0.05 or more; a box's score is its "
                                 "confidence that the box holds an object of its class.")
    index = None
    if image.spatial_dims == 3:  # a 2D model read the volume slice by slice: pick one
        with right:  # opens where the answer view opens: the truth's largest slice, else the prediction's
            shown = [m for m in (truth, pred.mask) if m is not None and np.any(m)]
            index = slice_control(image, "axial", f"{key}.axial", focus_index(shown[0] if shown else None, 0,
                                                                              image.shape[0] // 2))
    found = _found(case, image, item_id, model, index, key)
    if found is None:
        return
    shown = found.above(threshold)
    names = case.task.class_names
    picture, table = st.columns(2, gap="medium")
    with picture:
        base = slice_base(image, "axial", index or 0)
        spacing = tuple(image.spacing[-2:])
        flip = image.spatial_dims == 3  # axial slices are drawn anterior up (ui.shared.render.plane_slice)
        st.plotly_chart(instance_figure(base, shown, names, spacing, flip, large=projector.is_on()),
                        key=f"{key}.figure", config={"displaylogo": False})
    with table:
        if len(shown):
            st.dataframe(instance_table(shown, names, spacing), hide_index=True, width="stretch")
        hidden = len(found) - len(shown)
        where = f"On axial slice {index + 1} of {image.shape[0]}: " if index is not None else ""
        words = f"{where}{counted(len(shown), 'object')} at a score of {threshold:.2f} or more"
        if hidden:
            words += f"; {hidden} weaker one(s) hidden (lower the threshold to see them)"
        st.caption(words + ". Each box is drawn in its class's colour, as the masks above, with its rank and "
                   "score.")


def _found(case: CaseStudy, image: MedImage, item_id: str, model: TrainedModel, index: int | None,
           key: str) -> Instances | None:
    """Every object the model keeps on this image (or slice), found once and kept."""
    from medlearn.models.instances import instances_on_image

    path = Path(model.checkpoint)
    signature = (item_id, str(path), path.stat().st_mtime_ns if path.exists() else 0, index)
    kept = st.session_state.get(f"{key}.found")
    if kept is not None and kept[0] == signature:
        return kept[1]
    loaded = _served(model.checkpoint)
    try:
        found = instances_on_image(loaded, image, index, case.title)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return None
    st.session_state[f"{key}.found"] = (signature, found)
    return found


def instance_labels(found: Instances, level: float = MASK_LEVEL) -> np.ndarray:
    """A label map of the objects' masks (their class where the probability reaches ``level``);
    where objects overlap, the higher score is drawn on top."""
    labels = np.zeros(found.shape, np.int32)
    if found.masks is None:
        return labels
    for i in np.argsort(found.scores, kind="stable"):  # weakest first, strongest last (on top)
        labels[found.masks[i] >= level] = int(found.labels[i])
    return labels


def instance_figure(base: MedImage | np.ndarray, found: Instances, names: tuple[str, ...],
                    spacing: tuple[float, float], flip: bool = False, px: int = VIEW_PX,
                    large: bool = False) -> go.Figure:
    """The slice with each object's mask (filled in its class's colour), box and score.

    ``flip``: the picture is a volume's axial slice drawn anterior up (rows reversed), so the
    masks and boxes are turned the same way."""
    labels = instance_labels(found)
    if flip:
        labels = plane_slice(labels[None], "axial", 0)
    rgb = to_display(mask_overlay(to_rgb_uint8(base, labels.shape), labels, "fill", 0.35), spacing, px)
    sy, sx = rgb.shape[0] / found.shape[0], rgb.shape[1] / found.shape[1]
    fig = go.Figure(go.Image(z=rgb, hoverinfo="skip"))
    for rank, (box, label, score) in enumerate(zip(found.boxes, found.labels, found.scores), start=1):
        x0, y0, x1, y1 = (float(v) for v in box)
        if flip:
            y0, y1 = found.shape[0] - y1, found.shape[0] - y0
        colour = "rgb{}".format(label_colour(int(label))[1])
        name = names[int(label)] if int(label) < len(names) else f"label {int(label)}"
        fig.add_shape(type="rect", x0=x0 * sx - 0.5, x1=x1 * sx - 0.5, y0=y0 * sy - 0.5, y1=y1 * sy - 0.5,
                      line=dict(color=colour, width=3))
        fig.add_annotation(x=x0 * sx, y=y0 * sy, text=f"#{rank} {name} {score:.2f}", showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(color="black", size=13),
                           bgcolor=colour, borderpad=2)
    fig.update_xaxes(visible=False, range=[-0.5, rgb.shape[1] - 0.5])
    fig.update_yaxes(visible=False, range=[rgb.shape[0] - 0.5, -0.5], scaleanchor="x")
    fig.update_layout(height=rgb.shape[0] + 40, margin=dict(l=0, r=0, t=30, b=0))
    from ui.shared.projector import style_chart

    return style_chart(fig, large=large)


def instance_table(found: Instances, names: tuple[str, ...], spacing: tuple[float, float]) -> pd.DataFrame:
    """One row per object: its rank, class, score, box size in mm and mask area in mm²."""
    sy, sx = spacing
    rows = []
    for rank, (box, label, score) in enumerate(zip(found.boxes, found.labels, found.scores), start=1):
        area = float((found.masks[rank - 1] >= MASK_LEVEL).sum()) * sy * sx if found.masks is not None else None
        rows.append({"#": rank, "class": names[int(label)] if int(label) < len(names) else str(int(label)),
                     "score": f"{score:.2f}",
                     "box mm": f"{(box[2] - box[0]) * sx:.0f} × {(box[3] - box[1]) * sy:.0f}",
                     "mask mm²": "—" if area is None else f"{area:.0f}"})
    return pd.DataFrame(rows)
