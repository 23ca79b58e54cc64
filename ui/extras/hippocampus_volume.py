"""Hippocampus extra: the labels in three planes and the hippocampal volume, predicted vs truth.

Volumes come from ``medlearn.clinical.hippocampal_volumes`` (voxel count × voxel volume)
on the phantom's exact labels and, when a model is trained, on the predicted labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.clinical import hippocampal_volumes
from medlearn.errors import MedlearnError
from ui import cache
from ui.viewers import show_image


def render(case: CaseStudy) -> None:
    """Label overlay in three planes and the volume table."""
    st.subheader("📏 Hippocampal volume")
    st.markdown("Atrophy of the hippocampus is an early marker of Alzheimer's disease. Its volume is the "
                "number of labelled voxels times the voxel volume; the phantom's labels are exact.")
    key = f"extra.{case.key}.volume"
    seed = int(st.number_input("Phantom seed", 0, 10_000, 0, key=f"{key}.seed"))
    try:
        phantom = cache.phantoms(case.key, seed, 0.5, ())[0]
    except MedlearnError as exc:
        st.error(str(exc), icon="🚫")
        return
    names = case.task.class_names
    show_image(phantom.image, phantom.mask, class_names=names, key=f"{key}.view",
               caption=f"Hippocampus phantom, seed {seed}: true labels")
    predicted = _predicted_mask(case, phantom, key)
    st.dataframe(volume_table(phantom.mask, predicted, phantom.image.spacing, names), hide_index=True,
                 width="stretch")
    if predicted is None:
        st.caption("Train a model (Predict or Train section) to compare the predicted volume with the truth.")


def volume_table(truth: np.ndarray, predicted: np.ndarray | None, spacing, names) -> pd.DataFrame:
    """Volume per label and in total (mm³): truth, model and the model's error in %."""
    t = hippocampal_volumes(truth, spacing, names)
    p = hippocampal_volumes(predicted, spacing, names) if predicted is not None else {}
    rows = []
    for name, value in t.items():
        label = "total" if name == "hippocampal_volume_mm3" else name.removeprefix("volume_mm3[").rstrip("]")
        row = {"structure": label, "truth (mm³)": round(value, 1)}
        if predicted is not None:
            model = p.get(name, 0.0)
            row["model (mm³)"] = round(model, 1)
            row["error (%)"] = round(100 * (model - value) / value, 1) if value else None
        rows.append(row)
    return pd.DataFrame(rows)


def _predicted_mask(case, phantom, key) -> np.ndarray | None:
    from ui.predict_panel import predictor, trained_models

    models = trained_models(case)
    if not models:
        return None
    index = st.selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model")
    try:
        pred = predictor().predict(case.key, phantom.image, explain=None, checkpoint=models[index].checkpoint)
    except MedlearnError as exc:
        st.error(str(exc), icon="🚫")
        return None
    st.caption(f"Model: {pred.weights_note} {pred.disclaimer}")
    return pred.mask
