"""Retina extra: paint lesions onto a healthy fundus and watch the grade and the Grad-CAM respond.

Red dots stand for haemorrhages and microaneurysms, yellow for hard exudates. The
painting is blended onto the fundus by :func:`paint_lesions` (pure NumPy, tested
directly), then the trained model predicts on the painted image.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image
from skimage.transform import resize

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.explain import heatmap_overlay
from ui import cache
from ui.explain_view import heat_caption, probability_figure

CANVAS_PX = 384
LESIONS = {"Red dots: haemorrhages / microaneurysms": "#8E1B12", "Yellow: hard exudates": "#E8C94A"}


def paint_lesions(rgb: np.ndarray, rgba: np.ndarray | None) -> np.ndarray:
    """Blend a canvas drawing ``(h, w, 4)`` (alpha = coverage) onto a fundus ``(H, W, 3)`` uint8."""
    rgb = np.asarray(rgb, np.uint8)
    if rgba is None or not np.any(np.asarray(rgba)[..., 3]):
        return rgb.copy()
    paint = resize(np.asarray(rgba, np.float32) / 255.0, rgb.shape[:2] + (4,), order=1, anti_aliasing=True)
    alpha = paint[..., 3:4]
    out = rgb.astype(np.float32) / 255.0 * (1 - alpha) + paint[..., :3] * alpha
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def render(case: CaseStudy) -> None:
    """The painting canvas, the model's grade probabilities and its Grad-CAM on the painted fundus."""
    from ui.predict_panel import predictor, trained_models

    st.subheader("🖌️ Paint lesions, watch the grade")
    st.markdown("Start from a healthy synthetic fundus (no DR) and paint lesions: a few red dots is mild "
                "NPDR, more haemorrhages and exudates moderate. Does the model's grade follow, and does its "
                "Grad-CAM land on your lesions?")
    key = f"extra.{case.key}.paint"
    models = trained_models(case)
    if not models:
        st.info("No trained retina model yet: train one in the Predict or Train section, then paint here.")
        return
    c = st.columns([1, 2, 1, 2])
    seed = int(c[0].number_input("Fundus seed", 0, 10_000, 0, key=f"{key}.seed"))
    lesion = c[1].radio("Lesion", list(LESIONS), key=f"{key}.lesion")
    size = int(c[2].slider("Brush (px)", 2, 20, 6, key=f"{key}.brush"))
    index = c[3].selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model")
    try:
        fundus = cache.phantoms(case.key, seed, 0.5, (("grade", 0),))[0].image
    except MedlearnError as exc:
        st.error(str(exc), icon="🚫")
        return
    left, right = st.columns(2, gap="large")
    with left:
        drawing = _canvas(fundus.pixels, LESIONS[lesion], size, f"{key}.canvas.{seed}")
    painted = fundus.with_pixels(paint_lesions(fundus.pixels, drawing), source=f"{fundus.source} (painted)")
    try:
        pred = predictor().predict(case.key, painted, explain="gradcam", checkpoint=models[index].checkpoint)
    except MedlearnError as exc:
        st.error(str(exc), icon="🚫")
        return
    with right:
        st.markdown(f"**Model: {pred.prediction}** ({pred.probabilities[pred.prediction]:.0%}) · {pred.disclaimer}")
        st.plotly_chart(probability_figure(pred.probabilities, pred.prediction), width="stretch", key=f"{key}.probs")
        if pred.explanation is not None:
            st.image(heatmap_overlay(painted, pred.explanation, "viridis", 0.45), width="stretch",
                     caption=heat_caption(pred, case.task.class_names, "viridis", 0.45))


def _canvas(rgb: np.ndarray, colour: str, size: int, key: str):
    from streamlit_drawable_canvas import st_canvas

    side = CANVAS_PX
    result = st_canvas(stroke_width=size, stroke_color=colour, background_image=Image.fromarray(np.asarray(rgb)),
                       height=side, width=side, drawing_mode="freedraw", return_image_data=True, key=key)
    try:
        return result.image_data
    except Exception:  # nothing drawn yet / no browser
        return None
