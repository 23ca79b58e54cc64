"""Explanation view: CAM method picker, heat-map and mask overlays, captions, scores.

The maps come from ``medlearn.predict`` (pytorch_grad_cam under the hood), the overlays
from ``medlearn.explain`` (viridis by default, Okabe-Ito masks). The overlay controls run
in an ``st.fragment``: moving the opacity slider redraws the pictures only, no model call.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import streamlit as st
from skimage.transform import resize

from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage, Window
from medlearn.errors import MedlearnError
from medlearn.explain import get_method, heatmap_overlay, list_colormaps, list_methods, mask_overlay
from medlearn.explain.overlay import GREY, colour_hex, is_photo
from medlearn.predict import Prediction
from ui.shared import icons, projector
from ui.shared.render import PLANES, display_size, legend_words, plane_slice, plane_spacing
from ui.shared.viewers import overlay_controls, slice_control
from ui.shared.text import plain

VIEW_PX = 300
STAGE_PX = 560  # the projector stage draws larger pictures
NO_EXPLANATION = "none"


def method_picker(case: CaseStudy, image: MedImage | None, key: str) -> str:
    """Select box of CAM methods for this image's dimensionality; Score-CAM is flagged slow."""
    dims = image.spatial_dims if image is not None else case.task.spatial_dims
    methods = {m.name: m for m in list_methods(dims)}
    titles = {name: m.title + (" · one pass per channel" if m.slow else "") for name, m in methods.items()}
    titles[NO_EXPLANATION] = "No explanation (fastest)"
    return st.selectbox("Explanation method", list(titles), format_func=titles.get, key=f"{key}.method",
                        help="Class activation maps: which regions of the image pushed the model towards its "
                             "answer. " + "; ".join(f"{m.title}: {m.paper}" for m in methods.values()))


def heat_caption(pred: Prediction, class_names: tuple[str, ...], cmap: str, alpha: float) -> str:
    """What the heat map shows, in words (method, target class, colour scale, opacity)."""
    title = get_method(pred.explain_method).title if pred.explain_method else "No"
    target = class_names[pred.class_index] if pred.class_index is not None and pred.class_index < len(
        class_names) else pred.prediction
    hot, cold = ("red", "blue") if cmap == "jet" else ("bright yellow", "dark purple") if cmap in (
        "viridis", "magma", "inferno") else ("yellow", "dark blue")
    if pred.explanation is not None and not np.any(np.asarray(pred.explanation) > 1e-6):
        return (f"The {title} heat map for “{target}” is empty: at the layer it reads, no region raised the "
                "model's score for that class (its evidence takes another path through the network, or the model "
                "has learnt little). An empty map explains nothing; try Grad-CAM++ or EigenCAM.")
    unmarked = (pred.mask is not None and pred.class_index is not None
                and not np.any(np.asarray(pred.mask) == pred.class_index))
    whole = (f" The model marked no “{target}” pixel, so the map explains its score for that class over the "
             "whole picture." if unmarked else "")
    return (f"{title} heat map ({cmap}, {alpha:.0%} opacity) for “{target}”: {hot} = regions that most raised "
            f"the model's score for that class, {cold} = little influence. The map is scaled 0–1 within this "
            f"image; it shows where the model looked, not a probability or a diagnosis.{whole}")


def focus_index(volume: np.ndarray | None, axis: int, default: int) -> int:
    """The slice along ``axis`` where ``volume`` (a map or mask) has the most mass."""
    if volume is None or not np.any(volume):
        return default
    other = tuple(a for a in range(volume.ndim) if a != axis)
    return int(np.argmax(np.abs(volume.astype(np.float32)).sum(axis=other)))


def slice_base(image: MedImage, plane: str, index: int) -> MedImage:
    """The 2D picture to draw on: the image itself, or one windowed plane of a volume."""
    if image.spatial_dims == 2:
        return image
    unit = plane_slice(image.windowed(), plane, index)
    return MedImage(unit, spacing=plane_spacing(image.spacing, plane), window=Window(0.5, 1.0, "unit"))


def to_display(rgb: np.ndarray, spacing: tuple[float, ...], px: int = VIEW_PX) -> np.ndarray:
    """Resample an RGB overlay to ``px`` on its long side, keeping the physical aspect."""
    size = display_size(rgb.shape[:2], tuple(spacing[-2:]), px)
    order = 0 if max(rgb.shape[:2]) * 2 <= px else 1
    return resize(rgb, size + (3,), order=order, preserve_range=True, anti_aliasing=order == 1).astype(np.uint8)


def render_overlays(case: CaseStudy, image: MedImage, pred: Prediction, truth_mask: np.ndarray | None,
                    key: str, truth_names: tuple[str, ...] | None = None,
                    undrawn: list[int] | tuple = ()) -> None:
    """Explanation, predicted mask and ground truth side by side, with their controls.

    ``truth_names`` name the truth mask's values (a classification case's lesion map holds
    lesion codes, not classes: ``ui.shared.viewers.mask_names``); default the task's classes.
    ``undrawn``: classes the experts did not draw on this image (the truth's caption says so).
    """
    stage = projector.stage()
    with stage.pictures if stage else contextlib.nullcontext():
        _overlays(case, image, pred, truth_mask, key, truth_names or case.task.class_names, stage is not None,
                  tuple(undrawn))


@st.fragment
def _overlays(case, image, pred, truth_mask, key, truth_names, compact: bool = False,
              undrawn: tuple = ()) -> None:
    """The pictures and their controls; ``compact`` (the projector stage): pictures first, controls folded below."""
    names = case.task.class_names
    maps = [m for m in (truth_mask, pred.mask, pred.explanation) if m is not None and np.any(m)]  # focus: truth first
    pictures = st.container() if compact else None  # the stage: pictures above their (folded) controls
    with st.expander("Overlay settings") if compact else st.container(horizontal=True):
        alpha, outline, _ = overlay_controls(key, masks=pred.mask is not None or truth_mask is not None,
                                             heat=pred.explanation is not None, toggle=False, opacity=0.45)
        mode = "outline" if outline else "fill"
        cmaps = {c.name: c.name + ("" if c.colour_blind_safe else " (not colour-blind safe)") for c in list_colormaps()}
        cmap = st.selectbox("Heat-map colours", list(cmaps), format_func=cmaps.get, key=f"{key}.cmap",
                            disabled=pred.explanation is None)
        plane, index = "axial", 0
        if image.spatial_dims == 3:
            plane = st.radio("Plane", PLANES, horizontal=True, key=f"{key}.plane")
            axis = PLANES.index(plane)
            # plane_slice flips rows, not the slice axis: index counts along the array axis.
            start = focus_index(maps[0] if maps else None, axis, image.shape[axis] // 2)
            index = slice_control(image, plane, f"{key}.{plane}.number", start)
    cut = (lambda a: a) if image.spatial_dims == 2 else (lambda a: plane_slice(a, plane, index))
    base = slice_base(image, plane, index)
    panels = []
    if pred.explanation is not None:
        panels.append((heatmap_overlay(base, cut(pred.explanation), cmap, alpha),
                       heat_caption(pred, names, cmap, alpha)))
    photo = is_photo(base)  # a colour picture: sky blue first (orange vanishes on a fundus)
    if pred.mask is not None:
        panels.append((mask_overlay(base, cut(pred.mask), mode, alpha),
                       "The model's mask: " + _legend(pred.mask, names, photo)))
    if truth_mask is not None:
        what = "Ground truth" if case.task.is_segmentation else "True lesion map"
        missing = [truth_names[c] for c in undrawn if 0 < c < len(truth_names)]
        caption = f"{what}: " + _legend(truth_mask, truth_names, photo)
        if missing:
            caption += f" Not drawn by the experts on this image: {', '.join(missing)}."
        panels.append((mask_overlay(base, cut(truth_mask), mode, alpha), caption))
    if not panels:
        panels.append((heatmap_overlay(base, np.zeros(base.spatial_shape, np.float32), "viridis", 0.0),
                       "Your image (choose an explanation method to see where the model looked)."))
    # A lone picture stays a third wide; on the projector stage the pictures share its width.
    with pictures or st.container():
        for column, (rgb, caption) in zip(st.columns(len(panels) if compact else max(3, len(panels))), panels):
            with column:
                st.image(to_display(rgb, base.spacing, STAGE_PX if compact else VIEW_PX), caption=caption,
                         width="stretch")
        if image.spatial_dims == 3:
            st.caption(f"{plane.capitalize()} slice {index + 1} of {image.shape[PLANES.index(plane)]}.")


def _legend(mask: np.ndarray, names: tuple[str, ...], photo: bool = False) -> str:
    return (legend_words(mask, names, photo) or "nothing marked") + "."


def render_scores(case: CaseStudy, pred: Prediction, truth_mask: np.ndarray | None, spacing,
                  undrawn: list[int] | tuple = ()) -> None:
    """How good the answer is against a known truth: CAM localisation or the mask's Dice."""
    if truth_mask is None:
        return
    stage = projector.stage()
    with stage.answer if stage else contextlib.nullcontext():
        _scores(case, pred, truth_mask, spacing, undrawn)


def truth_scores(case: CaseStudy, pred: Prediction, truth_mask: np.ndarray | None, spacing,
                 undrawn: list[int] | tuple = ()) -> dict:
    """The scores against a known truth that the page shows (and the report keeps): the mask's
    Dice (mean and per class) or the heat map's localisation; ``{}`` when there is none.
    ``undrawn``: classes the experts did not draw on this image (not scored: NaN).

    Raises:
        MedlearnError: when the score cannot be computed (shapes that do not match...).
    """
    if truth_mask is None:
        return {}
    if case.task.is_segmentation and pred.mask is not None:
        from medlearn.metrics import scoring_truth, segmentation_metrics

        truth = scoring_truth(truth_mask, undrawn)  # as training and evaluate score it
        m = segmentation_metrics(pred.mask[None], truth[None], case.task.num_classes, spacing,
                                 case.task.class_names, hd95=False)
        return {"dice": float(m["dice"]), "dice_per_class": {k: float(v) for k, v in m["dice_per_class"].items()}}
    if pred.explanation is not None and np.any(truth_mask):
        from medlearn.explain import localisation_score

        return dict(localisation_score(pred.explanation, truth_mask))
    return {}


def _scores(case: CaseStudy, pred: Prediction, truth_mask: np.ndarray, spacing, undrawn) -> None:
    try:
        s = truth_scores(case, pred, truth_mask, spacing, undrawn)
    except MedlearnError as exc:
        st.caption(f"Score not available: {exc}")
        return
    if "dice" in s:
        cols = st.columns(1 + len(s["dice_per_class"]))
        cols[0].metric("Dice (mean)", f"{s['dice']:.3f}", help="2·|A∩B| / (|A|+|B|): 1 = perfect overlap.")
        names = case.task.class_names
        for c, (col, (name, value)) in enumerate(zip(cols[1:], s["dice_per_class"].items()), 1):
            shown = f"{value:.3f}" if value == value else "not drawn" if c in undrawn else "absent"
            why = f"The experts drew no {names[c]} on this image: there is no truth to score it against."
            col.metric(f"Dice: {name}", shown, help=why if c in undrawn else None)
    elif s:
        a, b, c = st.columns(3)
        a.metric("CAM peak inside the lesion", "yes" if s["peak_in_lesion"] else "no",
                 help="Is the hottest point of the map inside the true lesion?")
        b.metric("Map energy inside the lesion", f"{s['energy_in_lesion']:.0%}",
                 help="Share of the map's total heat inside the lesion (Wang et al. 2020).")
        c.metric("Lesion's share of the image", f"{s['lesion_fraction']:.1%}",
                 help="What a map that looks everywhere equally would score on the energy measure: the "
                      "heat map beats chance when its energy inside the lesion is above this.")
    elif pred.explanation is not None:
        st.caption("This image has no lesion, so there is nothing for the heat map to point at.")


def probability_figure(probabilities: dict[str, float], predicted: str, truth: str | None = None):
    """Horizontal bars of class probabilities; the predicted class in Okabe-Ito blue, the truth marked."""
    import plotly.graph_objects as go

    names = list(probabilities)
    labels = [f"{n} ✓ truth" if n == truth else n for n in names]
    fig = go.Figure(go.Bar(x=[probabilities[n] for n in names], y=labels, orientation="h",
                           marker_color=[colour_hex("blue") if n == predicted else GREY for n in names],
                           text=[f"{probabilities[n]:.1%}" for n in names], textposition="auto"))
    fig.update_layout(xaxis=dict(range=[0, 1], title="probability", tickformat=".0%"), yaxis=dict(autorange="reversed"),
                      height=60 + 36 * len(names), margin=dict(l=10, r=10, t=10, b=40))
    return projector.style_chart(fig, rows=len(names))


def truth_measurements(case: CaseStudy, item) -> tuple[dict[str, float], list[str]]:
    """The case's clinical numbers measured on the true mask, and notes (empty when unknown;
    the numbers of classes the experts did not draw on this item are left out)."""
    if item.mask is None or not case.measurements or not np.any(item.mask):
        return {}, []
    from medlearn import clinical
    from medlearn.data.sources.base import undrawn_classes

    try:
        return clinical.measure(case.measurements, np.asarray(item.mask), item.image.to_grey(), item.image.spacing,
                                case.task.class_names, spacing_known=item.image.spacing_known,
                                undrawn=undrawn_classes(item, case.task.num_classes))
    except MedlearnError:
        return {}, []


def timing_caption(pred: Prediction) -> str:
    """Where the answer's milliseconds went (a first call also reads the model from disk)."""
    t = pred.timings
    parts = [f"{name} {t[k]:.0f}" for k, name in (("load", "model load (first use)"), ("preprocess", "preprocess"),
                                                  ("queue", "waiting for a batch"), ("forward", "forward"),
                                                  ("explain", "explanation"), ("postprocess", "postprocess"))
             if k in t and (t[k] >= 1 or k in ("preprocess", "forward"))]
    return f"{icons.TIMER} Answered in {pred.latency_ms:.0f} ms: " + ", ".join(parts) + " ms."


def render_card(pred: Prediction) -> None:
    """The model card that answered: data, preprocessing, decision rule, validation scores."""
    if not pred.card:
        return
    with st.expander("Model card: what data, which preprocessing, threshold, scores"):
        st.table(pd.DataFrame(pred.card, columns=["", "this model"]))


def render_familiarity(pred: Prediction, where=st) -> None:
    """Whether the image is like the model's training images (:mod:`medlearn.ood`), said
    before the answer when it is not: an error for "unlike", a warning for "unusual"."""
    fam = pred.familiarity
    if fam is None:
        return
    if fam.level == "unlike":
        where.error(fam.words, icon=icons.UNFAMILIAR)
    elif fam.level == "unusual":
        where.warning(fam.words, icon=icons.UNFAMILIAR)
    elif fam.level == "stale":
        where.info(fam.words, icon=icons.INFO)
        if where.button("Recalibrate it on the images it trained on",
                        key=f"familiarity.recalibrate.{pred.checkpoint}",
                        help="Reads the model's training and validation images again (seconds to a minute) and "
                             "stores where they lie in its features, as training does. The weights are unchanged."):
            _recalibrate(pred.checkpoint, where)
    else:
        where.caption(f"{icons.FAMILIAR} {fam.words}")


def _recalibrate(checkpoint: str, where) -> None:
    from medlearn.train.recipes import recalibrate_familiarity

    try:
        with st.spinner("Reading the model's training and validation images again…"):
            recalibrate_familiarity(checkpoint)
    except (MedlearnError, OSError) as exc:  # OSError: a full disk or a read-only data home; the old file stays
        where.error(plain(f"Could not recalibrate this model: {exc}"), icon=icons.ERROR)
        return
    st.rerun()  # the checkpoint's new time stamp makes the predictor load it afresh


def render_answer(case: CaseStudy, item, pred: Prediction) -> None:
    """Headline, probabilities or measurements, timing, weights note, notes and the disclaimer."""
    from ui.predict.export import measurement_table

    names = case.task.class_names
    truth = names[item.label] if item.label is not None and item.label < len(names) else None
    stage = projector.stage()  # instructor mode: headline, probabilities and disclaimer beside the pictures
    (stage.answer if stage else st).warning(pred.warning, icon=icons.WARNING) if pred.warning else None
    render_familiarity(pred, stage.answer if stage else st)
    truth_numbers, truth_notes = truth_measurements(case, item)
    if pred.probabilities is not None or pred.measurements or truth_numbers:
        left, right = st.columns([2, 3], gap="large")
    else:  # nothing for a right column (a segmenter without measurements): the answer takes the width
        left = right = st.container()
    headline, chart = (stage.answer, stage.answer) if stage else (left, right)
    with headline:
        if pred.probabilities is not None:
            st.markdown(f"### Model: **{pred.prediction}** ({pred.probabilities[pred.prediction]:.0%})")
        else:
            st.markdown(f"### Model: segmentation by {pred.arch}")
        if truth is not None:
            verdict = f"{icons.RIGHT} the model is right" if truth == pred.prediction else f"{icons.WRONG} the model is wrong"
            st.markdown(f"Truth: **{truth}** · {verdict}")
    with chart:
        if pred.probabilities is not None:
            st.plotly_chart(probability_figure(pred.probabilities, pred.prediction, truth), width="stretch",
                            key=f"predict.{case.key}.probs", config={"displayModeBar": False})  # no toolbar over the top bar
    with left:
        st.caption(timing_caption(pred))
        st.caption(f"{icons.WEIGHTS} Weights: {pred.weights_note}")
        for note in pred.notes:  # notes may quote the file (names, header strings): plain text
            st.caption(f"{icons.INFO} {plain(note)}")
    with headline:
        st.markdown(f"**{icons.WARNING} {pred.disclaimer}**")
    with right:
        if pred.measurements or truth_numbers:
            table = measurement_table(pred.measurements, truth_numbers if item.mask is not None else None)
            against = " vs ground truth" if truth_numbers else ""
            if pred.mask is not None:
                st.markdown(f"**Clinical measurements** (model's mask{against})")
            elif pred.measurements:  # a classifier draws no outline: the lesion is outlined by thresholding
                table = table.rename(columns={"model": "automatic outline"})
                st.markdown(f"**Clinical measurements** (automatic outline{against})",
                            help="The model classifies and draws no outline; the lesion was outlined by an Otsu "
                                 "threshold (the component nearest the centre) to measure it.")
            else:
                table = table.drop(columns="model")
                st.markdown("**Clinical measurements of the true lesion**")
            for column in ("model", "automatic outline", "truth"):
                if column in table:
                    table[column] = [f"{v:,.1f}" if v is not None and v == v else "—" for v in table[column]]
            st.dataframe(table, hide_index=True, width="stretch")
            for note in [n for n in truth_notes if n not in pred.notes]:  # none without a true mask
                st.caption(f"{icons.INFO} Ground truth: {plain(note)}")
    render_card(pred)  # full width below the answer: the rows are sentences
