"""The held-out figures MedLearn measured on real data (``scripts/real_results.py``), read by
the case pages and written into docs/RESULTS.md: one file, one truth.

``docs/real_results.json`` holds one row per trained recipe (case, network, data, how it was
held out, every figure with its n and 95 % interval). A checkout without it shows nothing.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().parents[1] / "docs" / "real_results.json"


@lru_cache(maxsize=4)
def _rows(path: str, mtime: float) -> tuple[dict, ...]:
    try:
        rows = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return ()
    return tuple(r for r in rows if isinstance(r, dict) and r.get("status") == "done")


def measured(case_key: str, path: Path = RESULTS_FILE) -> list[dict]:
    """The finished rows of ``case_key``, in the file's order ([] without the file)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return []
    return [r for r in _rows(str(path), stamp) if r.get("case") == case_key]


def figure_text(f: dict) -> str:
    """``"AUC 0.867 [0.78, 0.94] (n 95)"``: one figure with its interval and sample size."""
    if f.get("value") is None:
        return f"{f['label']}: -"
    ci = f" [{f['ci_low']:.2f}, {f['ci_high']:.2f}]" if f.get("ci_low") is not None else ""
    return f"{f['label']} {f['value']:.3f}{ci} (n {f['n']})"


def held_out_text(row: dict) -> str:
    """How a row's items were held out, in words: ``"5-fold cross-validation (95 items, 95 groups)"``."""
    split = row["split"]
    how = f"{split} cross-validation" if "fold" in split else f"{split} split"
    return f"{row['source']}, {how} ({row['n_items']} items, {row['n_groups']} groups)"


def model_text(row: dict) -> str:
    """The recipe in words: ``"resnet18 (128 px, 15 ep)"``."""
    if row["arch"] == "classic":
        return "classic (features + scikit-learn, one fit)"
    plan = row.get("plan") or {}
    start = ", pre-trained on phantoms" if row.get("init") == "phantoms" else ""
    return (f"{row['arch']} ({plan.get('input_size')} px, {plan.get('epochs')} ep"
            + (f", crop {plan['crop']}" if plan.get("crop") else "")
            + (f", {plan['tile']} px tiles" if plan.get("tile") else "") + start + ")")
