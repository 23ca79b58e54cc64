"""Export a prediction: overlay PNG, the numbers as JSON and CSV, the mask as NIfTI.

The builders are pure functions (no Streamlit) and are tested directly; only
:func:`render_export` draws download buttons. Images are written with PIL, masks with
``medlearn.data.io.save_mask`` (NIfTI with the image's affine, so it overlays the image).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage, Window
from medlearn.data.sources.base import undrawn_classes
from medlearn.data.io import save_mask
from medlearn.errors import MedlearnError
from medlearn.explain import heatmap_overlay, mask_overlay
from medlearn.predict import Prediction
from ui.shared import icons
from ui.predict.explain_view import to_display, truth_scores

UNITS = (("_mm3", "mm³"), ("_mm2", "mm²"), ("_mm", "mm"), ("_px3", "px³"), ("_px2", "px²"), ("_px", "px"),
         ("_ml", "ml"), ("_g", "g"), ("_percent", "%"))


def split_unit(name: str) -> tuple[str, str]:
    """``"edv_ml"`` -> ``("edv", "ml")``; ``"volume_mm3[head]"`` -> ``("volume [head]", "mm³")``."""
    match = re.fullmatch(r"([^\[]+?)(\[.*\])?", name)
    stem, part = match.group(1), match.group(2) or ""
    for suffix, unit in UNITS:
        if stem.endswith(suffix):
            return (stem[: -len(suffix)].replace("_", " ") + (f" {part}" if part else "")), unit
    return stem.replace("_", " ") + (f" {part}" if part else ""), ""


def measurement_table(predicted: dict[str, float], truth: dict[str, float] | None = None) -> pd.DataFrame:
    """Rows of measurement, unit, model value (and truth) for display and CSV."""
    names = list(predicted) + [n for n in (truth or {}) if n not in predicted]
    rows = []
    for name in names:
        label, unit = split_unit(name)
        row = {"measurement": label, "unit": unit, "model": _round(predicted.get(name))}
        if truth is not None:
            row["truth"] = _round(truth.get(name))
        rows.append(row)
    return pd.DataFrame(rows)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


EXPORT_PX = 512  # long side of the exported overlay: a 28-px image is not exported as a 28-px PNG
# An absolute path of two or more parts (not a URL's, not "W1500/L-600"): its folders are the server's.
_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.~-]+/)+([\w.~-]+)")


def report(case: CaseStudy, pred: Prediction, what: str, truth_label: int | None = None,
           scores: dict | None = None) -> dict:
    """Everything worth keeping about one prediction, JSON-ready (no arrays), with no server folder in it.

    ``scores``: what the page showed against the truth (e.g. Dice per class), kept under ``"scores"``."""
    out = {"case": case.title, "image": what, **pred.summary()}
    out["checkpoint"] = Path(pred.checkpoint).name  # the model's file name, not the server's folders
    if truth_label is not None:
        out["truth"] = case.task.class_names[truth_label]
    if pred.mask is not None:
        out["mask_voxels_per_label"] = {case.task.class_names[int(v)] if int(v) < case.task.num_classes else str(v):
                                        int(n) for v, n in zip(*np.unique(pred.mask, return_counts=True)) if v > 0}
    if scores:
        out["scores"] = scores
    return without_paths(out)


def without_paths(value):
    """``value`` (nested dicts, lists, text) with every absolute file path cut to its file name."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_paths(v) for v in value]
    return _PATH.sub(r"\1", value) if isinstance(value, str) else value


def report_json(data: dict) -> bytes:
    return json.dumps(data, indent=2, default=str).encode()


def report_csv(data: dict) -> bytes:
    """Flatten nested numbers to ``field,value`` rows (``probabilities.malignant,0.83``)."""
    rows = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (list, tuple)):
            rows.append((prefix, " | ".join(map(str, value))))
        else:
            rows.append((prefix, value))

    walk("", data)
    return pd.DataFrame(rows, columns=["field", "value"]).to_csv(index=False).encode()


def report_overlay(image: MedImage, pred: Prediction, alpha: float = 0.45, px: int = EXPORT_PX) -> np.ndarray:
    """RGB uint8 of the explanation (and mask outline) over the image; a volume's most explained slice.

    Resampled to at least ``px`` on its long side (physical aspect kept): a small image is
    exported at a size one can see, a large one at its own size."""
    cam, mask, base = pred.explanation, pred.mask, image
    if image.spatial_dims == 3:
        ref = cam if cam is not None and np.any(cam) else mask
        z = int(np.argmax(ref.reshape(ref.shape[0], -1).sum(1))) if ref is not None else image.shape[0] // 2
        base = MedImage(image.windowed()[z], spacing=image.spacing[1:], window=Window(0.5, 1.0, "unit"))
        cam = None if cam is None else cam[z]
        mask = None if mask is None else mask[z]
    rgb = heatmap_overlay(base, cam, "viridis", alpha) if cam is not None else heatmap_overlay(
        base, np.zeros(base.spatial_shape, np.float32), "viridis", 0.0)
    if mask is not None and np.any(mask):
        rgb = mask_overlay(MedImage(rgb, modality="OT"), mask, "outline")
    return to_display(rgb, base.spacing, max(px, *rgb.shape[:2]))


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgb, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def mask_nifti(mask: np.ndarray, spacing: MedImage | tuple[float, ...] | None) -> bytes:
    """A label mask as ``.nii.gz`` bytes, with the image's affine (``spacing``: the image, or
    only its spacing)."""
    with tempfile.TemporaryDirectory(prefix="medlearn-export-") as folder:
        path = save_mask(mask, spacing, Path(folder) / "mask.nii.gz")
        return Path(path).read_bytes()


def render_export(case: CaseStudy, item, pred: Prediction, key: str) -> None:
    """Download buttons: overlay PNG, JSON, CSV and (segmentation) the mask as NIfTI."""
    try:
        scores = truth_scores(case, pred, item.mask, item.image.spacing,
                              undrawn_classes(item, case.task.num_classes))
    except MedlearnError:
        scores = {}
    data = report(case, pred, item.what, item.label, scores)
    stem = f"medlearn-{case.key}-{pred.arch}"
    try:
        with st.container(horizontal=True):  # buttons at their own width, wrapping: never cut
            st.download_button("Overlay (PNG)", png_bytes(report_overlay(item.image, pred)), f"{stem}.png",
                               "image/png", key=f"{key}.png", icon=icons.DOWNLOAD)
            st.download_button("Report (JSON)", report_json(data), f"{stem}.json", "application/json",
                               key=f"{key}.json", icon=icons.DOWNLOAD)
            st.download_button("Numbers (CSV)", report_csv(data), f"{stem}.csv", "text/csv", key=f"{key}.csv",
                               icon=icons.DOWNLOAD)
            if pred.mask is not None:
                label = "Boxes as a mask (NIfTI)" if case.task.is_detection else "Mask (NIfTI)"  # a detector draws boxes
                st.download_button(label, mask_nifti(pred.mask, item.image),
                                   f"{stem}-mask.nii.gz", "application/gzip", key=f"{key}.nii", icon=icons.DOWNLOAD)
    except MedlearnError as exc:
        st.error(f"Export failed: {exc}", icon=icons.ERROR)
