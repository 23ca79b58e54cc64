"""Retina extra: paint lesions onto a healthy fundus and watch the grade and the Grad-CAM respond.

Red dots stand for haemorrhages and microaneurysms, yellow for hard exudates. The
painting is blended onto the fundus by :func:`paint_lesions` (pure NumPy, tested
directly), then the trained model predicts on the painted image.

Cost control: the section is behind a toggle, and torch, the predictor and the canvas
component are imported only once it is switched on. The answer (prediction, overlay,
caption) is kept in session state keyed by a hash of the canvas pixels, the fundus seed
and the checkpoint (:func:`ui.shared.cache.session_memo`), so a rerun that did not change the
drawing (a brush or colour change, any other widget on the page) shows the kept answer
without calling the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from ui.shared import cache, icons
from ui.shared.text import plain

CANVAS_PX = 384
LESIONS = {"Red dots: haemorrhages / microaneurysms": "#8E1B12", "Yellow: hard exudates": "#E8C94A"}
CMAP, OPACITY = "viridis", 0.45
WAIT_POLL_S = 2.0  # while the case's model trains, how often the canvas checks whether it is ready


def paint_lesions(rgb: np.ndarray, rgba: np.ndarray | None) -> np.ndarray:
    """Blend a canvas drawing ``(h, w, 4)`` (alpha = coverage) onto a fundus ``(H, W, 3)`` uint8."""
    rgb = np.asarray(rgb, np.uint8)
    if is_blank(rgba):
        return rgb.copy()
    from skimage.transform import resize

    paint = resize(np.asarray(rgba, np.float32) / 255.0, rgb.shape[:2] + (4,), order=1, anti_aliasing=True)
    alpha = paint[..., 3:4]
    out = rgb.astype(np.float32) / 255.0 * (1 - alpha) + paint[..., :3] * alpha
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def is_blank(rgba: np.ndarray | None) -> bool:
    """True for no drawing at all, or a canvas with nothing painted (alpha zero everywhere)."""
    return rgba is None or not np.any(np.asarray(rgba)[..., 3])


def drawing_signature(seed: int, rgba: np.ndarray | None, checkpoint: str) -> tuple:
    """What the answer depends on: the fundus, the painted pixels (blank = none) and the model file."""
    path = Path(checkpoint)
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    return int(seed), cache.digest(None if is_blank(rgba) else rgba), str(path), stamp


def render(case: CaseStudy) -> None:
    """A toggle that opens the painting canvas (nothing heavy is imported or run while it is off)."""
    st.subheader(f"{icons.PAINT} Paint lesions, watch the grade")
    st.markdown("Start from a healthy synthetic fundus (no DR) and paint lesions: a few red dots is mild "
                "NPDR, more haemorrhages and exudates moderate. Does the model's grade follow, and does its "
                "Grad-CAM land on your lesions?")
    key = f"extra.{case.key}.paint"
    # A toggle, not an expander: a folded expander still runs its body (model, canvas) on every rerun.
    if st.toggle("Open the painting canvas", key=f"{key}.on",
                 help="Loads the best trained retina model; each new stroke is graded once."):
        _painting(case, key)


def _painting(case: CaseStudy, key: str) -> None:
    """Controls, the canvas, and the (kept) answer for the current drawing."""
    from ui.predict.predict_panel import trained_models

    models = trained_models(case)
    if not models:
        from ui.train import jobs
        training = jobs.case_job_ids(case, [])  # queued or running jobs of this case, any session's
        if training:
            st.fragment(run_every=WAIT_POLL_S)(_wait_for_model)(case, tuple(training))
        else:
            st.info("No trained retina model yet: train one in the Predict or Train section, then paint here.",
                    icon=icons.INFO)
        return
    c = st.columns([1, 2, 1, 3])  # wide enough for "resnet18 (run 4, phantoms, validation accuracy 0.81)"
    seed = int(c[0].number_input("Fundus seed", 0, 10_000, 0, key=f"{key}.seed"))
    lesion = c[1].radio("Lesion", list(LESIONS), key=f"{key}.lesion")
    size = int(c[2].slider("Brush (px)", 2, 20, 6, key=f"{key}.brush"))
    index = c[3].selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model")
    try:
        fundus = cache.phantoms(case.key, seed, 0.5, (("grade", 0),))[0].image
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    left, right = st.columns(2, gap="large")
    with left:
        drawing = _canvas(fundus.pixels, LESIONS[lesion], size, f"{key}.canvas.{seed}")
    checkpoint = models[index].checkpoint
    with right:
        try:
            with st.spinner("Grading the painted fundus…"):
                answer = cache.session_memo(f"{key}.result", drawing_signature(seed, drawing, checkpoint),
                                            lambda: grade_painting(case, fundus, drawing, checkpoint))
        except MedlearnError as exc:
            st.error(plain(str(exc)), icon=icons.ERROR)
            return
        _show(answer, f"{key}.probs")


def _wait_for_model(case: CaseStudy, job_ids: tuple[int, ...]) -> None:
    """Say which job is training the model the canvas will use; rerun the page once none is live
    (trained: the canvas opens; stopped or failed: the section says there is no model)."""
    from ui.train import jobs
    try:
        live = [v for v in (jobs.view(i, case) for i in job_ids) if v.live]
    except MedlearnError as exc:  # said once, no rerun: an unreadable job must not loop the page
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    if not live:
        st.rerun()
    st.info(training_words(live[0]), icon=icons.TIMER)


def training_words(job) -> str:
    """``"A retina model is training now (resnet18, job 4: 30% done)..."``, or where a queued job waits."""
    from ui.train import jobs
    where = (jobs.wait_words(job.id) if job.status == "queued" else
             f"A retina model is training now ({job.arch}, job {job.id}: {job.progress:.0%} done).")
    return (f"{where} The canvas will grade your painting with it as soon as it is ready; "
            "this section reloads by itself.")


def grade_painting(case: CaseStudy, fundus, drawing: np.ndarray | None, checkpoint: str) -> dict:
    """Predict with Grad-CAM on the painted fundus: the prediction, the overlay picture and its caption."""
    from medlearn.explain import heatmap_overlay
    from ui.predict.explain_view import heat_caption
    from ui.predict.predict_panel import predictor

    painted = fundus.with_pixels(paint_lesions(fundus.pixels, drawing), source=f"{fundus.source} (painted)")
    pred = predictor().predict(case.key, painted, explain="gradcam", checkpoint=checkpoint)
    answer = {"prediction": pred, "overlay": None, "caption": None}
    if pred.explanation is not None:
        answer["overlay"] = heatmap_overlay(painted, pred.explanation, CMAP, OPACITY)
        answer["caption"] = heat_caption(pred, case.task.class_names, CMAP, OPACITY)
    return answer


def _show(answer: dict, key: str) -> None:
    from ui.predict.explain_view import probability_figure

    pred = answer["prediction"]
    st.markdown(f"**Model: {pred.prediction}** ({pred.probabilities[pred.prediction]:.0%}) · {pred.disclaimer}")
    st.plotly_chart(probability_figure(pred.probabilities, pred.prediction), width="stretch", key=key)
    if answer["overlay"] is not None:
        st.image(answer["overlay"], width="stretch", caption=answer["caption"])


def _canvas(rgb: np.ndarray, colour: str, size: int, key: str) -> np.ndarray | None:
    """The drawing as RGBA ``(h, w, 4)``, or None before the browser has sent one."""
    from PIL import Image
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(stroke_width=size, stroke_color=colour, background_image=Image.fromarray(np.asarray(rgb)),
                       height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw", return_image_data=True, key=key)
    try:
        return result.image_data
    except (RuntimeError, ValueError, OSError):  # no browser, or an unreadable image from it
        return None
