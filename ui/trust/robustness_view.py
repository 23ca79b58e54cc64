"""Robustness lesson: degrade an image step by step and watch the answer (``medlearn.trust.robustness``).

A perturbation and a strength slider; the clean and the perturbed image side by side with
the model's answer to each; the answer's curve against the strength for this image; and,
on request, the accuracy (or Dice) curve over validation items with 95 % intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnError
from medlearn.explain import mask_overlay
from medlearn.predict import TrainedModel
from medlearn.trust.robustness import (ImageCurve, Perturbation, SetCurve, dice_score, get_perturbation,
                                       image_curve, list_perturbations, set_curve, validation_items)
from ui.shared import icons, projector
from ui.shared.cache import session_memo
from ui.predict.explain_view import focus_index, to_display
from ui.train.race_chart import PALETTE
from ui.shared.text import plain
from ui.predict.upload import pick_input

SEED = 0


def _picture(image: MedImage, window, mask: np.ndarray | None, z: int | None) -> np.ndarray:
    """RGB uint8 of a 2D image or slice ``z`` of a volume, in the clean image's ``window`` (so
    the damage shows), with a mask's outline."""
    part = image.pixels if z is None else image.pixels[z]
    unit = image.windowed(window, part)
    rgb = (np.repeat(unit[..., None], 3, -1) if unit.ndim == 2 else unit) * 255
    rgb = rgb.round().astype(np.uint8)
    if mask is not None and np.any(mask):
        rgb = mask_overlay(rgb, mask if z is None else mask[z], mode="outline")
    return to_display(rgb, image.spacing)


def _predict(case: CaseStudy, image: MedImage, model: TrainedModel):
    from ui.predict.predict_panel import predictor

    return predictor().predict(case.key, image, explain=None, checkpoint=model.checkpoint)


def _answer(case: CaseStudy, pred, clean, truth_mask, where) -> None:
    """The answer as a metric: class and its probability, or Dice against the reference."""
    if case.task.is_segmentation:
        reference = truth_mask if truth_mask is not None else clean.mask
        what = "expert mask" if truth_mask is not None else "clean prediction"
        where.metric(f"Dice vs the {what}", f"{dice_score(pred.mask, reference, case.task.num_classes):.2f}")
        return
    p = pred.probabilities[pred.prediction]
    change = pred.probabilities[clean.prediction] - clean.probabilities[clean.prediction]
    delta = None if pred is clean else (f"{change * 100:+.1f} points p({clean.prediction})" if abs(change) >= 5e-4
                                        else f"p({clean.prediction}) unchanged")
    where.metric("Answer", f"{pred.prediction} ({p:.0%})", delta,
                 delta_color="normal" if delta and abs(change) >= 5e-4 else "off",
                 help="The class the model decides on at its operating threshold, and its probability. The "
                      "change is in the probability of the clean image's answer, in percentage points.")


def _side_by_side(case: CaseStudy, item, model: TrainedModel, spec: Perturbation, strength: float, key: str) -> None:
    sig = (item.id, model.checkpoint, _mtime(model))
    clean = session_memo(f"{key}.clean", sig, lambda: _predict(case, item.image, model))
    image, mask = spec.apply(item.image, strength, SEED, item.mask)
    pred = clean if strength == spec.clean else session_memo(
        f"{key}.perturbed", (*sig, spec.name, strength), lambda: _predict(case, image, model))
    z = focus_index(item.mask if item.mask is not None else clean.mask, 0, item.image.shape[0] // 2) \
        if item.image.spatial_dims == 3 else None
    left, right = st.columns(2)
    for col, img, m, p, title in ((left, item.image, clean.mask, clean, "Clean"),
                                  (right, image, pred.mask, pred, f"{spec.title}: {strength:g} {spec.unit}")):
        col.image(_picture(img, item.image.window, m, z), caption=title + ("" if z is None else f" (slice {z})")
                  + (": the model's outline" if m is not None else ""))
        _answer(case, p, clean, mask if case.task.is_segmentation else None, col)


def _mtime(model: TrainedModel) -> int:
    path = Path(model.checkpoint)
    return path.stat().st_mtime_ns if path.exists() else 0


def curve_figure(x: list[float], y: list[float], spec: Perturbation, y_title: str, strength: float | None = None,
                 band: tuple[list[float], list[float]] | None = None, text: list[str] | None = None,
                 second: tuple[str, list[float]] | None = None) -> go.Figure:
    """One curve against the strength (JPEG quality axis reversed), an optional 95 % band, an
    optional second (dashed) curve ``(name, values)`` and the slider's strength marked."""
    colour = PALETTE[0]
    fig = go.Figure()
    if band is not None and all(np.isfinite(band[0] + band[1])):
        fig.add_trace(go.Scatter(x=x + x[::-1], y=band[1] + band[0][::-1], fill="toself", mode="lines", line=dict(width=0),
                                 fillcolor=colour.replace("rgb", "rgba").replace(")", ", 0.2)"),
                                 name="95 % interval", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers+text" if text else "lines+markers", text=text,
                             textposition="top center", line=dict(color=colour, width=3), name=y_title))
    if second is not None:
        fig.add_trace(go.Scatter(x=x, y=second[1], mode="lines+markers", name=second[0],
                                 line=dict(color=PALETTE[2], width=2, dash="dash"), marker_symbol="diamond"))
    if strength is not None:
        fig.add_vline(x=strength, line_dash="dash", line_color=PALETTE[1])
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=20, b=40), showlegend=band is not None or second is not None,
                      xaxis=dict(title=spec.unit, autorange="reversed" if spec.reverse else True),
                      yaxis=dict(title=y_title, range=[0, 1.05]), legend=dict(orientation="h", y=-0.3))
    return projector.style_chart(fig)


def _image_curve(case, item, model, spec, strength, key) -> None:
    try:
        curve: ImageCurve = session_memo(
            f"{key}.curve", (item.id, model.checkpoint, _mtime(model), spec.name),
            lambda: image_curve(case.key, item.image, model.checkpoint, spec.name, item.mask, SEED))
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    pts = curve.points
    labels = None if case.task.is_segmentation else [p.answer if p.changed else "" for p in pts]
    st.plotly_chart(curve_figure([p.strength for p in pts], [p.score for p in pts], spec, curve.score_name,
                                 strength, text=labels), key=f"{key}.curve.chart")
    flips = [p for p in pts if p.changed]
    st.caption(f"This image, {len(pts)} strengths. " + (
        f"Dice against {curve.reference}." if case.task.is_segmentation else
        f"The answer changes first at {flips[0].strength:g} {spec.unit} (to {flips[0].answer})." if flips else
        f"The answer stays {curve.reference} at every strength shown."))


def _set_curve(case, model, spec, key) -> None:
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    n = int(left.number_input("Validation items", 4, 100, 20, key=f"{key}.n"))
    stored = f"{key}.set.{spec.name}"
    if right.button(f"Curve over {n} validation items", icon=icons.NEXT, key=f"{key}.run"):
        bar = st.progress(0.0, "Loading the model's validation items…")
        try:
            items, note = validation_items(case.key, model.checkpoint, n)
            result = set_curve(case.key, items, model.checkpoint, spec.name, SEED,
                               progress=lambda done, total: bar.progress(done / total, f"{done} of {total} answers"))
        except MedlearnError as exc:
            st.error(plain(str(exc)), icon=icons.ERROR)
            return
        finally:
            bar.empty()
        st.session_state[stored] = (model.checkpoint, result, note)
    kept = st.session_state.get(stored)
    if kept is None or kept[0] != model.checkpoint:
        return
    _, result, note = kept
    result: SetCurve
    title = "accuracy" if result.score_name == "accuracy" else "mean Dice"
    second = None if result.confidence is None else ("mean probability of the true class", result.confidence)
    st.plotly_chart(curve_figure(result.strengths, result.values, spec, title, band=(result.low, result.high),
                                 second=second), key=f"{key}.set.chart")
    st.caption(f"{title.capitalize()} over n = {result.n} items ({result.n_groups} patients or items, 95 % "
               f"bootstrap interval over them), from {plain(note)}. "
               + ("Accuracy at the model's own decisions (its operating threshold). "
                  if result.score_name == "accuracy" else "Dice against the expert masks. ")
               + " ".join(plain(n) for n in result.notes[:2]))


def render(case: CaseStudy, model: TrainedModel, key: str) -> None:
    """Pick an image and a perturbation, slide its strength, read the curves."""
    st.markdown("**Robustness.** Real images arrive noisier, blurrier, compressed or turned compared with "
                "the ones a model trained on. A trustworthy model changes its answer slowly as the image "
                "degrades; a brittle one flips at the first speck of noise.")
    item = pick_input(case, f"{key}.input")
    if item is None:
        return
    specs = list_perturbations()
    left, right = st.columns([1, 2])
    name = left.selectbox("Perturbation", [p.name for p in specs], key=f"{key}.kind",
                          format_func=lambda n: get_perturbation(n).title)
    spec = get_perturbation(name)
    lo, hi = spec.bounds
    strength = right.slider(f"Strength: {spec.unit}", float(lo), float(hi), float(spec.clean), float(spec.step),
                            key=f"{key}.strength.{name}", help=spec.about)
    st.caption(plain(spec.about + " Applied to the image as stored, before the model's own preprocessing."))
    try:
        _side_by_side(case, item, model, spec, strength, key)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    _image_curve(case, item, model, spec, strength, key)
    st.markdown("**Over the validation set**")
    _set_curve(case, model, spec, key)
