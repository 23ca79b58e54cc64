"""Lesions study extra: the exudate probability map, its precision-recall curve and the IDRiD figures.

Predict shows any study's mask; hard exudates also need the model's probability per pixel,
the field of view the figures are counted in (:func:`medlearn.data.fov.fov_mask`), the found /
missed / false-alarm map, and the figures of :mod:`medlearn.lesions` for this photograph (Dice,
sensitivity, AUPR inside the field), with its precision-recall curve: with under 1 % of the
pixels lesion, accuracy says nothing. Below, what MedLearn measured by cross-validation on
IDRiD (docs/lesion_results.json, ``scripts/lesion_results.py``) beside the challenge's figure.

One prediction per photograph and checkpoint is kept in session state; torch and the predictor
are imported only once the section is switched on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.explain.overlay import COLOUR_NAMES, OKABE_ITO, colourise, is_photo, label_colour, mask_overlay
from ui.shared import cache, icons, projector
from ui.shared.text import plain

REAL = "idrid"
VIEW_PX = 460
RESULTS = Path(__file__).resolve().parents[3] / "docs" / "lesion_results.json"
OUTCOMES = (("found", 2), ("missed", 0), ("false alarm", 6))  # Okabe-Ito indices, named in the caption
PHANTOM_SEED = 7


def measured_rows(path: Path = RESULTS) -> list[dict]:
    """The saved rows of ``scripts/lesion_results.py`` ([] without the file or with a broken one)."""
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("figures"), dict)]


SHORT = {"dice": "Dice", "sensitivity": "sensitivity", "aupr": "AUPR (mean)", "aupr_pooled": "AUPR (pooled)",
         "auc": "ROC AUC"}


def measured_table(case: CaseStudy, rows: list[dict]) -> pd.DataFrame:
    """Cross-validated segmentation figures (95 % intervals) beside the published AUPR, one row per model."""
    def bare(f: dict) -> str:
        ci = f" [{f['ci_low']:.2f}, {f['ci_high']:.2f}]" if f.get("ci_low") is not None else ""
        return "—" if f.get("value") is None else f"{f['value']:.3f}{ci}"

    cited = "; ".join(f"{p.model}: {p.metric} {p.value:g} ({p.dataset})" for p in case.published)
    out = []
    for r in rows:
        if r.get("kind") != "segmentation":
            continue
        plan = r.get("plan") or {}
        figures = r["figures"]
        out.append({"model": f"{r['arch']} ({plan.get('input_size')} px, {plan.get('tile')} px tiles, "
                             f"{plan.get('epochs')} ep)",
                    "held out": f"{r['source']}, {r['split']} CV, n {r['n_items']}",
                    **{label: bare(figures[k]) for k, label in SHORT.items() if k in figures},
                    "published": cited})
    return pd.DataFrame(out)


def pr_curve(truth: np.ndarray, foreground: np.ndarray, fov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(recall, precision)`` over every threshold, from the binned counts the AUPR reads."""
    from medlearn.metrics import pr_counts

    counts = pr_counts(truth, foreground, fov)
    lesion = np.cumsum(counts[1][::-1])  # at or above each threshold, highest first
    every = lesion + np.cumsum(counts[0][::-1])
    keep = every > 0
    recall = lesion[keep] / max(1, counts[1].sum())
    return recall, lesion[keep] / every[keep]


def panels(image, truth: np.ndarray | None, foreground: np.ndarray, fov: np.ndarray,
           threshold: float) -> list[tuple[np.ndarray, str]]:
    """Photograph with the expert outline, the probability map, and the decisions against the truth."""
    from ui.explore.extras.retina_vessels import outcome_map
    from ui.predict.explain_view import to_display

    def small(rgb):
        return to_display(rgb, image.spacing, VIEW_PX)

    def small_mask(mask):
        from skimage.transform import resize

        shape = small(np.zeros(image.spatial_shape + (3,), np.uint8)).shape[:2]
        return (resize(np.asarray(mask, np.float32), shape, order=1, anti_aliasing=True) > 0.1).astype(np.uint8)

    photo = small(np.asarray(image.pixels, np.uint8))
    if truth is not None:
        photo = mask_overlay(photo, small_mask(np.asarray(truth) != 0), "outline")
    heat = colourise(foreground, "viridis")
    heat[~fov] = (heat[~fov] * 0.35).astype(np.uint8)
    decided = foreground >= threshold
    outline = label_colour(1, is_photo(photo))[0]  # the colour mask_overlay chose for this picture
    out = [(photo, f"The photograph{'; the experts’ exudates outlined in ' + outline if truth is not None else ''}."),
           (small(heat), "P(exudate) per pixel (viridis: dark 0, yellow 1); dimmed outside the field of view.")]
    if truth is None:
        out.append((mask_overlay(photo, small_mask(decided), palette=(OKABE_ITO[2],)),
                    f"Exudates at p ≥ {threshold:.2f}; no expert mask to compare with."))
        return out
    palette = tuple(OKABE_ITO[i] for _, i in OUTCOMES)
    words = ", ".join(f"{COLOUR_NAMES[i]} = {name}" for name, i in OUTCOMES)
    outcome = outcome_map(truth, decided)
    shape = photo.shape[:2]
    from skimage.transform import resize

    labels = np.zeros(shape, np.uint8)
    for value in (3, 2, 1):  # shrunk one outcome at a time, so a lesion of a few pixels stays visible
        labels[resize((outcome == value).astype(np.float32), shape, order=1, anti_aliasing=True) > 0.1] = value
    out.append((mask_overlay(small(np.asarray(image.pixels, np.uint8)), labels, alpha=0.9, palette=palette),
                f"At p ≥ {threshold:.2f} against the experts: {words}."))
    return out


def render(case: CaseStudy) -> None:
    """Model and photograph pickers, the panels, this photograph's figures and curve, the measured table."""
    from ui.predict.predict_panel import trained_models

    st.subheader(f"{icons.MEASURE} Exudate map: probability, precision-recall and the IDRiD figure")
    st.markdown("Exudates are tiny: a model that marks nothing is still 99 % accurate. So the figures are counted "
                "**inside the field of view** and read from the **precision-recall curve**: of the pixels called "
                "exudate, how many are (precision), and of the exudate pixels, how many were found (sensitivity, "
                "recall). AUPR sums up every threshold; the IDRiD challenge ranked by it.")
    _measured(case)
    key = f"extra.{case.key}.figures"
    models = trained_models(case)
    if not models:
        st.info("No trained exudate model yet: train one in this study's Predict or Train section to see its map.",
                icon=icons.INFO)
        return
    if not st.toggle("Show the exudate map of a photograph", key=f"{key}.on"):
        return
    left, right = st.columns(2)
    index = left.selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model")
    model = models[index]
    try:
        items = _photographs(case)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    names = [_name(item, i) for i, item in enumerate(items)]
    pick = right.selectbox("Photograph", range(len(items)), format_func=lambda i: names[i], key=f"{key}.item")
    item = items[pick]
    threshold = st.slider("Decision threshold on P(exudate)", 0.05, 0.95, 0.5, 0.05, key=f"{key}.threshold",
                          help="Lower: more exudate pixels found (sensitivity up), more false alarms (precision "
                               "down). AUPR sums up every threshold, so it does not move.")
    try:
        pred, fov = _predicted(case, item, names[pick], model.checkpoint)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    truth = getattr(item, "mask", None)
    for column, (rgb, caption) in zip(st.columns(3), panels(item.image, truth, pred.foreground, fov, threshold)):
        column.image(rgb, caption=caption, width="stretch")
    if truth is None or not np.any(np.asarray(truth) != 0):
        st.caption("This photograph has no exudate in its mask: sensitivity and AUPR are undefined here.")
        return
    _figures(truth, pred.foreground, fov, threshold, f"{key}.curve")


def _figures(truth, foreground, fov, threshold: float, key: str) -> None:
    from medlearn.lesions import photo_scores

    s = photo_scores(truth, foreground, fov, predicted=foreground >= threshold)
    c = st.columns(4)
    c[0].metric("Dice", f"{s['dice']:.3f}", help="Overlap of the model's exudates with the experts' (1 = same).")
    c[1].metric("Sensitivity", f"{s['sensitivity']:.3f}", help="Share of the experts' exudate pixels found.")
    c[2].metric("AUPR", f"{s['aupr']:.3f}", help="Area under the precision-recall curve (every threshold).")
    c[3].metric("ROC AUC", f"{s['auc']:.3f}",
                help="Near 1 even for weak models here: the sea of easy background makes false alarms rare "
                     "relative to it. Precision-recall does not let it hide.")
    recall, precision = pr_curve(truth, foreground, fov)
    share = float((np.asarray(truth) != 0)[fov].mean())
    fig = go.Figure(go.Scatter(x=recall, y=precision, mode="lines", name="this model",
                               line=dict(color="#{:02X}{:02X}{:02X}".format(*OKABE_ITO[4]), width=3)))
    fig.add_hline(y=share, line_dash="dot", line_color="#999999", annotation_position="top left",
                  annotation_text=f"chance: precision = the lesions' share ({share:.1%})")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(title="recall (sensitivity)",
                      range=[0, 1]), yaxis=dict(title="precision", range=[0, 1.02]), showlegend=False)
    st.plotly_chart(projector.style_chart(fig), width="stretch", key=key, config={"displayModeBar": False})
    st.caption(f"{share:.2%} of this photograph's field of view is exudate. For teaching, not for clinical use.")


def _measured(case: CaseStudy) -> None:
    table = measured_table(case, measured_rows())
    if table.empty:
        return
    st.markdown("**Measured by MedLearn on IDRiD photographs it never trained on**",
                help="scripts/lesion_results.py: the study's IDRiD recipe trained once per fold, each photograph "
                     "answered by the fold model that never saw it; 95 % bootstrap intervals over photographs "
                     "(IDRiD names no patients: each photograph counts as its own).")
    st.table(table, hide_index=True, border="horizontal")  # wraps its long cells


def _photographs(case: CaseStudy) -> list:
    """IDRiD photographs when they are here, else a few phantoms with exudates."""
    from medlearn.data.sources import get_source

    if get_source(REAL).is_available():
        return cache.load_samples(REAL, case.key, 32)
    return [p for p in cache.phantoms(case.key, PHANTOM_SEED, 0.5, (), n=8) if p.mask is not None]


def _name(item, index: int) -> str:
    return str(getattr(item, "id", None) or f"phantom {index + 1}")


def _predicted(case: CaseStudy, item, name: str, checkpoint: str):
    """The prediction (no explanation) and the field of view, once per photograph and checkpoint."""
    from medlearn.data.fov import fov_mask
    from ui.predict.predict_panel import predictor

    path = Path(checkpoint)
    signature = (name, str(path), path.stat().st_mtime_ns if path.exists() else 0)

    def compute():
        with st.spinner("Looking for exudates, tile by tile…"):
            pred = predictor().predict(case.key, item.image, explain=None, checkpoint=checkpoint)
            return pred, fov_mask(item.image.pixels)

    return cache.session_memo(f"extra.{case.key}.figures.result", signature, compute)
