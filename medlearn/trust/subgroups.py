"""Subgroups: does the model do as well for everyone? Each item's facts (what its data source
put in ``meta``, a phantom's generative parameters, the size of the expert's outline) split
the held-out items into groups; a number with many values is split into thirds. Written
here because no library reads MedLearn's item facts; the scores are :mod:`medlearn.metrics`'.
"""

from __future__ import annotations

import math

import numpy as np

from medlearn.metrics import UNLABELLED, auc, rates

MAX_GROUPS = 8
THIRDS = ("smallest third", "middle third", "largest third")
NAMED_FACTS = {  # meta/params keys a student can read as a subgroup, in the order offered
    "source": "data source",
    "dataset": "data source",
    "scanner": "scanner",
    "manufacturer": "scanner maker",
    "difficulty": "phantom difficulty",
    "lesion_size_mm": "lesion size (mm)",
    "diameter_mm": "nodule diameter (mm)",
    "lesion_pixels": "lesion size (pixels)",
    "volume_mm3": "volume (mm³)",
    "truth_size": "size of the expert's outline",
    "class": "original class",
    "finding": "finding",
    "type": "nodule type",
    "variant": "heart variant",
    "phase": "cardiac phase",
    "patient": "patient",
    "tissue": "tissue",
    "tile_size": "tile size",
    "atrophy": "atrophy",
    "tumour_fraction": "tumour fraction",
    "ef_percent": "ejection fraction (%)",
    "malignancy_mean": "readers' malignancy rating",
    "eye": "eye",
    "side": "side",
}
IGNORED_FACTS = frozenset(
    {
        "case",
        "seed",
        "index",
        "size",
        "split",
        "label",
        "labelled",
        "file",
        "note",
        "image_number",
        "slice_no",
        "roi",
        "case_id",
        "original_label",
        "grade",
    }
)


def item_facts(item) -> dict:
    """An item's scalar facts: its ``meta`` and generative ``params`` (phantoms), and the size of
    its expert outline (pixels or voxels with a label) when it has a mask."""
    meta = dict(getattr(item, "meta", None) or {})
    params = meta.pop("params", None) or getattr(item, "params", None) or {}
    out = {
        k: v.item() if isinstance(v, np.generic) else v
        for k, v in {**params, **meta}.items()
        if k not in IGNORED_FACTS and isinstance(v, (bool, str, int, float, np.generic))
    }
    mask = getattr(item, "mask", None)
    if mask is not None and "lesion_pixels" not in out:  # BUSI counts its lesion itself
        mask = np.asarray(mask)
        out["truth_size"] = int(((mask > 0) & (mask != UNLABELLED)).sum())
    return out


def group_labels(facts: list[dict], key: str) -> list[str | None]:
    """Each item's subgroup by fact ``key``: its value, or for a number with many values its
    third (smallest, middle, largest); None where the item does not say."""
    values = [f.get(key) for f in facts]
    present = [v for v in values if v is not None]
    numeric = present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if not numeric or len(set(present)) <= len(THIRDS):
        return [None if v is None else str(v) for v in values]
    low, high = np.quantile(np.asarray(present, float), [1 / 3, 2 / 3])
    names = tuple(
        f"{third} ({bound})"
        for third, bound in zip(THIRDS, (f"≤ {_num(low)}", f"{_num(low)}–{_num(high)}", f"> {_num(high)}"))
    )
    return [None if v is None else names[0 if v <= low else 1 if v <= high else 2] for v in values]


def subgroup_fields(facts: list[dict]) -> list[tuple[str, str]]:
    """``(key, words)`` of the facts that split these items into 2 to ``MAX_GROUPS`` subgroups:
    the named ones (source, difficulty, lesion size...) first, then other categories."""
    keys = list(dict.fromkeys(k for f in facts for k in f))
    out = []
    for key in sorted(
        keys, key=lambda k: (list(NAMED_FACTS).index(k) if k in NAMED_FACTS else len(NAMED_FACTS), k)
    ):
        groups = {g for g in group_labels(facts, key) if g is not None}
        categorical = all(isinstance(f.get(key), (str, bool, type(None))) for f in facts)
        if 2 <= len(groups) <= MAX_GROUPS and (key in NAMED_FACTS or categorical):
            out.append((key, NAMED_FACTS.get(key, key.replace("_", " "))))
    return out


def subgroup_table(
    groups: list[str | None], *, truth=None, score=None, decided=None, dice=None
) -> list[dict]:
    """One row per subgroup: its n and, for a classifier (``truth``, ``score``, ``decided`` of
    one event), positives, AUC, sensitivity and specificity; for a segmenter (``dice``), the
    mean, median and lowest Dice. Small subgroups give wide swings: read n first."""
    rows = []
    for g in sorted({g for g in groups if g is not None}, key=_group_order):
        idx = np.array([i for i, x in enumerate(groups) if x == g])
        row: dict = {"subgroup": g, "n": len(idx)}
        if dice is not None:
            d = np.asarray(dice, np.float64)[idx]
            d = d[np.isfinite(d)]
            row.update(
                {
                    "mean Dice": _mean(d),
                    "median Dice": float(np.median(d)) if d.size else math.nan,
                    "lowest Dice": float(d.min()) if d.size else math.nan,
                }
            )
        else:
            t, s, dec = (
                np.asarray(truth, bool)[idx],
                np.asarray(score, np.float64)[idx],
                np.asarray(decided, bool)[idx],
            )
            r = rates(t, dec)
            row.update(
                {
                    "positives": int(t.sum()),
                    "AUC": auc(t.astype(int), np.stack([1 - s, s], 1)),
                    "sensitivity": r["sensitivity"],
                    "specificity": r["specificity"],
                }
            )
        rows.append(row)
    return rows


def _group_order(name: str) -> tuple[int, str]:
    """Thirds of a number in their order, other subgroups alphabetically."""
    return next((i for i, third in enumerate(THIRDS) if name.startswith(third)), len(THIRDS)), name


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan
