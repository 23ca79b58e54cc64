"""Vessels extra: the vessel probability map, the field of view and the literature's figures.

The Predict section shows any study's mask and Grad-CAM; vessel segmentation also needs what
it leaves out: the model's probability of "vessel" per pixel, the field of view those
figures are counted in (derived with :func:`medlearn.data.fov.fov_mask`), the model's hits,
misses and false alarms, and the vessel literature's figures (sensitivity, specificity,
accuracy, AUC, Dice: :func:`medlearn.metrics.fov_scores`) for this photograph, inside the
field and over the whole picture, beside the review's DRIVE figures. A threshold slider
trades sensitivity for specificity without calling the model again (the AUC does not move).

The photograph is a CHASE_DB1 one when the mirror or an import has them (those the model
trained on are marked), else a phantom. One prediction per photograph and checkpoint is kept
in session state; torch and the predictor are imported only once the section is switched on.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.explain.overlay import COLOUR_NAMES, OKABE_ITO, colourise, mask_overlay, to_rgb_uint8
from ui.shared import cache, icons
from ui.shared.text import plain

REAL = "chase_db1"
VIEW_PX = 720
FIGURES = {"sensitivity": "Sensitivity", "specificity": "Specificity", "accuracy": "Accuracy", "auc": "AUC",
           "dice": "Dice"}
# hits, misses, false alarms: three Okabe-Ito colours, named in the caption
OUTCOMES = (("found", 2), ("missed", 7), ("false alarm", 3))  # bluish green, white, yellow: seen on an orange fundus
PHANTOM_SEEDS = 6
INSIDE, WHOLE, PUBLISHED = "in the field of view", "whole picture", "published, DRIVE (in its FOV)"


def outcome_map(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """1 = vessel found, 2 = vessel missed, 3 = false alarm, 0 = background left alone."""
    t, p = np.asarray(truth) != 0, np.asarray(predicted) != 0
    out = np.zeros(t.shape, np.uint8)
    out[t & p], out[t & ~p], out[~t & p] = 1, 2, 3
    return out


def pictures(image, truth: np.ndarray | None, foreground: np.ndarray, fov: np.ndarray,
             threshold: float) -> list[tuple[np.ndarray, str]]:
    """The three panels at most :data:`VIEW_PX` wide: photograph with its field of view
    outlined, probability map, and the decisions against the expert mask."""
    photo = _small(to_rgb_uint8(image))
    photo = mask_overlay(photo, _small_mask(fov, photo.shape[:2]), "outline", palette=(OKABE_ITO[3],))
    heat = colourise(foreground, "viridis")
    heat[~fov] = (heat[~fov] * 0.35).astype(np.uint8)  # outside the field: dimmed, not counted
    decided = foreground >= threshold
    names = f"{COLOUR_NAMES[3]} line: the field of view (derived from the photograph)"
    panels = [(photo, f"The photograph; {names}."),
              (_small(heat), "P(vessel) per pixel (viridis: dark purple 0, yellow 1); dimmed outside the "
                             "field of view.")]
    if truth is None:
        panels.append((_small(mask_overlay(image, decided.astype(np.uint8), palette=(OKABE_ITO[2],))),
                       f"Vessels at p ≥ {threshold:.2f} ({COLOUR_NAMES[2]}); no expert mask to compare."))
        return panels
    palette = tuple(OKABE_ITO[i] for _, i in OUTCOMES)
    words = ", ".join(f"{COLOUR_NAMES[i]} = {name}" for name, i in OUTCOMES)
    panels.append((_small(mask_overlay(image, outcome_map(truth, decided), alpha=0.85, palette=palette)),
                   f"At p ≥ {threshold:.2f} against the expert mask: {words}."))
    return panels


def figures_table(case: CaseStudy, truth: np.ndarray, foreground: np.ndarray, fov: np.ndarray,
                  threshold: float) -> pd.DataFrame:
    """This photograph's figures inside the field of view and over the whole picture, beside the
    review's DRIVE figures (one row per figure)."""
    from medlearn.metrics import fov_scores

    decided = foreground >= threshold
    inside = fov_scores(truth, foreground, fov, predicted=decided)
    whole = fov_scores(truth, foreground, np.ones_like(fov), predicted=decided)
    rows = []
    for key, label in FIGURES.items():
        cited = "; ".join(f"{_short(p.model)} {p.value:.3g}" for p in case.published
                          if p.metric.lower() == label.lower())
        rows.append({"figure": label, INSIDE: inside[key], WHOLE: whole[key], PUBLISHED: cited or "—"})
    return pd.DataFrame(rows)


def _short(model: str) -> str:
    """``"Liskowski & Krawiec 2016 (CNN)"`` -> ``"Liskowski 2016"``: first author and year."""
    year = re.search(r"\b(19|20)\d\d\b", model)
    return f"{model.split()[0]} {year.group(0)}" if year else model


def _photographs(case: CaseStudy) -> list:
    """CHASE_DB1 photographs when they are here, else a few phantoms."""
    from medlearn.data.sources import get_source

    if get_source(REAL).is_available():
        return cache.load_samples(REAL, case.key, 32)
    return [cache.phantoms(case.key, seed, 0.5, ())[0] for seed in range(PHANTOM_SEEDS)]


def _trained_on(checkpoint: str) -> set[str]:
    """Ids of the CHASE_DB1 photographs the checkpoint trained on (rebuilt from its plan)."""
    from medlearn.train.checkpoints import read_meta
    from medlearn.train.plan import RunPlan
    from medlearn.train.recipes import split_data

    plan = read_meta(checkpoint).get("plan") or {}
    if plan.get("source") != REAL:
        return set()
    try:
        train, _ = split_data(RunPlan(**plan))
    except (MedlearnError, TypeError):
        return set()
    return {str(getattr(it, "id", "")) for it in train}


def _name(item, index: int) -> str:
    return str(getattr(item, "id", None) or f"phantom {index + 1}")


def render(case: CaseStudy) -> None:
    """Model and photograph pickers, the three panels, the threshold slider and the figures."""
    from ui.predict.predict_panel import trained_models

    st.subheader(f"{icons.MEASURE} Vessel map: probability, field of view and figures")
    st.markdown("Vessel papers count every pixel **inside the field of view** (the camera's bright disc): "
                "the black corners are easy background and would flatter specificity and accuracy. Here the "
                "model's probability map, its hits and misses, and this photograph's figures beside the "
                "review's DRIVE figures.")
    key = f"extra.{case.key}.vessels"
    models = trained_models(case)
    if not models:
        st.info("No trained vessel model yet: train one in the Predict or Train section to see its vessel "
                "map.", icon=icons.INFO)
        return
    if not st.toggle("Show the vessel map", key=f"{key}.on"):
        return
    left, right = st.columns(2)
    try:
        with st.spinner("Reading the photographs…"):
            items = _photographs(case)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    index = left.selectbox("Model", range(len(models)), format_func=lambda i: models[i].label,
                           key=f"{key}.model")
    model = models[index]
    seen = _trained_on(model.checkpoint)
    order = sorted(range(len(items)), key=lambda i: _name(items[i], i) in seen)  # held-out photographs first
    marked = {i: _name(items[i], i) + (" (trained on it)" if _name(items[i], i) in seen else "")
              for i in order}
    pick = right.selectbox("Photograph", order, key=f"{key}.item", format_func=marked.get)
    item = items[pick]
    threshold = st.slider("Decision threshold on P(vessel)", 0.05, 0.95, 0.5, 0.05, key=f"{key}.threshold",
                          help="Lower: more vessels found (sensitivity up), more false alarms (specificity "
                               "down). The AUC sums up every threshold, so it does not move.")
    try:
        pred, fov = _predicted(case, item, _name(item, pick), model.checkpoint)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    truth = getattr(item, "mask", None)
    panels = pictures(item.image, truth, pred.foreground, fov, threshold)
    for column, (rgb, caption) in zip(st.columns(3), panels):
        column.image(rgb, caption=caption, width="stretch")
    if truth is None:
        return
    table = figures_table(case, truth, pred.foreground, fov, threshold)
    shown = table.copy()
    for column in table.columns[1:3]:
        shown[column] = [f"{v:.3f}" if v == v else "—" for v in table[column]]
    st.table(shown, hide_index=True, border="horizontal")  # wraps the published figures at 1024 px
    share = 1.0 - float(fov.mean())
    st.caption(f"{share:.0%} of the picture lies outside the field of view. Accuracy is high even for a weak "
               "model: vessels are about a tenth of the field, so compare sensitivity, AUC and Dice. The "
               "published figures are on DRIVE (adults, 45°); "
               + ("this photograph is a child's (CHASE_DB1: uneven light, central reflexes)."
                  if getattr(item, "id", None) else "this is a phantom, whose vessels are easier than a real eye's.")
               + " For teaching, not for clinical use.")


def _predicted(case: CaseStudy, item, name: str, checkpoint: str):
    """The prediction (no explanation) and the field of view, once per photograph and checkpoint."""
    from medlearn.data.fov import fov_mask
    from ui.predict.predict_panel import predictor

    path = Path(checkpoint)
    signature = (name, str(path), path.stat().st_mtime_ns if path.exists() else 0)

    def compute():
        with st.spinner("Segmenting the vessels at full resolution…"):
            pred = predictor().predict(case.key, item.image, explain=None, checkpoint=checkpoint)
            return pred, fov_mask(item.image.pixels)

    return cache.session_memo(f"extra.{case.key}.vessels.result", signature, compute)


def _display_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    h, w = shape[:2]
    scale = min(1.0, VIEW_PX / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def _small(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 panel at most :data:`VIEW_PX` on its long side (area-averaged)."""
    from skimage.transform import resize

    size = _display_shape(rgb.shape)
    if size == rgb.shape[:2]:
        return rgb
    return resize(rgb, size + (3,), preserve_range=True, anti_aliasing=True).round().astype(np.uint8)


def _small_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A boolean mask at the display ``size`` (nearest), as uint8 labels."""
    from skimage.transform import resize

    small = resize(mask.astype(np.uint8), size, order=0, preserve_range=True, anti_aliasing=False)
    return small.astype(np.uint8)
