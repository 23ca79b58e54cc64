"""Hippocampus extra: the hippocampal volume of the case open in the data browser, predicted vs truth.

The browser above already shows the case in three planes with its labels, so this extra
draws no second viewer: it measures the image the browser has open (``ui.explore.browser.shown_sample``).
Volumes come from ``medlearn.clinical.hippocampal_volumes`` (voxel count × voxel volume)
on the true labels (a phantom's are exact) and, when a model is trained, on the predicted labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.clinical import hippocampal_volumes
from medlearn.errors import MedlearnError
from ui.shared import icons
from ui.explore.browser import shown_sample
from ui.shared.text import plain


def render(case: CaseStudy) -> None:
    """The volume table of the browser's open case (truth, and the model's when one is trained)."""
    st.subheader(f"{icons.MEASURE} Hippocampal volume")
    st.markdown("Atrophy of the hippocampus is an early marker of Alzheimer's disease. Its volume is the "
                "number of labelled voxels times the voxel volume; the phantom's labels are exact.")
    shown = shown_sample(case)
    if shown is None:
        st.info("Open a phantom or a sample in the data browser above to measure its hippocampus.")
        return
    key = f"extra.{case.key}.volume"
    predicted = _predicted_mask(case, shown.image, key)
    if shown.mask is None and predicted is None:
        st.info("This image has no labels and no model is trained yet: nothing to measure.")
        return
    st.caption(f"Measured on the case open above: {shown.caption}.")
    table = volume_table(shown.mask, predicted, shown.image.spacing, case.task.class_names)
    volumes = {c: st.column_config.NumberColumn(format="localized") for c in table.columns if "mm³" in c}
    st.dataframe(table, hide_index=True, width="stretch", column_config=volumes)
    if predicted is None:
        st.caption("Train a model (Predict or Train section) to compare the predicted volume with the truth.")


def volume_table(truth: np.ndarray | None, predicted: np.ndarray | None, spacing, names) -> pd.DataFrame:
    """Volume per label and in total (mm³): truth, model and the model's error in % (either may be None)."""
    t = hippocampal_volumes(truth, spacing, names) if truth is not None else {}
    p = hippocampal_volumes(predicted, spacing, names) if predicted is not None else {}
    rows = []
    for name in t or p:
        label = "total" if name == "hippocampal_volume_mm3" else name.removeprefix("volume_mm3[").rstrip("]")
        row = {"structure": label}
        value = t.get(name)
        if truth is not None:
            row["truth (mm³)"] = round(value, 1)
        if predicted is not None:
            model = p.get(name, 0.0)
            row["model (mm³)"] = round(model, 1)
            if truth is not None:
                row["error (%)"] = round(100 * (model - value) / value, 1) if value else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _predicted_mask(case, image, key) -> np.ndarray | None:
    from ui.predict.predict_panel import predictor, trained_models

    models = trained_models(case)
    if not models:
        return None
    index = st.selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model")
    try:
        pred = predictor().predict(case.key, image, explain=None, checkpoint=models[index].checkpoint)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return None
    st.caption(f"Model: {pred.weights_note} {pred.disclaimer}")
    return pred.mask
