"""Hard-exudate figures inside the field of view, and their cross-validated measurement on IDRiD.

Exudates cover under 1 % of most photographs, so the figures are those the lesion literature
reads: Dice and sensitivity of the model's mask (:func:`medlearn.metrics.fov_scores`) and the
area under the precision-recall curve of its probabilities (:func:`medlearn.metrics.aupr`, the
IDRiD challenge's figure), each inside the photograph's field of view
(:func:`medlearn.data.fov.fov_mask`). AUPR is given two ways: the mean of each photograph's,
and pooled over every pixel of every photograph (the challenge pooled its test images);
every figure has its bootstrap interval over patients (:func:`medlearn.evaluate.bootstrap`;
each IDRiD photograph is its own patient) and its n.

:func:`cross_validate` trains a case's recipe once per fold (``train_recipe(fold="k/K")``,
folds by patient) and answers each held-out photograph with the fold model that never saw it,
through the predictor Predict uses (at full resolution for a model trained on tiles).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from medlearn.errors import MedlearnInputError

FIGURES = {
    "dice": "Dice (in the field of view)",
    "sensitivity": "sensitivity (in the field of view)",
    "aupr": "AUPR (mean over photographs)",
    "aupr_pooled": "AUPR (all pixels pooled)",
    "auc": "ROC AUC (in the field of view)",
}


def photo_scores(truth, probability, fov, predicted=None) -> dict:
    """One photograph: :func:`~medlearn.metrics.fov_scores` plus its ``aupr`` and the
    :func:`~medlearn.metrics.pr_counts` (``counts``) that pooled figures add up."""
    from medlearn.metrics import aupr, fov_scores, pr_counts

    scores = fov_scores(truth, probability, fov, predicted)
    counts = pr_counts(truth, probability, fov)
    return {**scores, "aupr": aupr(counts), "counts": counts}


@dataclass
class LesionEvaluation:
    """Lesion figures of one model (or one per fold) on a set of photographs.

    Attributes:
        case, arch, source, split: what was scored where (``split``: ``"3-fold"``, ``"val"``...).
        figures: :class:`medlearn.evaluate.Figure` per :data:`FIGURES` key.
        rows: one dict per photograph (``id``, ``group``, its scores, ``lesion_share``).
        notes: what to keep in mind when reading them.
        wall_s, cpu_s: training time (cross-validation: all folds).
        plan: the first fold's run plan (its recipe).
    """

    case: str
    arch: str
    source: str
    split: str
    figures: list
    rows: list[dict]
    notes: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    plan: dict = field(default_factory=dict)

    def figure(self, name: str):
        from medlearn.evaluate import figure_named

        return figure_named(self.figures, name)

    def to_dict(self) -> dict:
        from medlearn.evaluate import _finite

        return {"case": self.case, "arch": self.arch, "source": self.source, "split": self.split,
                "n_items": len(self.rows), "n_groups": len({r["group"] for r in self.rows}),
                "figures": {f.name: f.to_dict() for f in self.figures}, "rows": _finite(self.rows),
                "notes": list(self.notes), "wall_s": self.wall_s, "cpu_s": self.cpu_s, "plan": self.plan}


def lesion_figures(items: Sequence, preds: Sequence, resamples: int = 1000, seed: int = 0) -> tuple[list, list]:
    """``(figures, rows)`` for photographs ``items`` (``image``, ``mask``, ``meta``) and their
    segmentation :class:`~medlearn.predict.Prediction` s (``foreground`` probabilities, ``mask``).
    Photographs without any lesion count for specificity-like figures only: their sensitivity
    and AUPR are undefined (NaN, left out of means and n).

    Raises:
        MedlearnInputError: no photographs, a prediction without probabilities, or no field of view.
    """
    from medlearn.data.fov import fov_mask
    from medlearn.evaluate import Figure, bootstrap, group_rows
    from medlearn.metrics import aupr
    from medlearn.train.data import group_of, item_id

    if not items or len(items) != len(preds):
        raise MedlearnInputError(f"Lesion figures need one prediction per photograph (got {len(items)} photographs, "
                                 f"{len(preds)} predictions).")
    rows, counts = [], []
    for index, (item, pred) in enumerate(zip(items, preds)):
        if pred.foreground is None:
            raise MedlearnInputError("The prediction carries no probabilities: only a segmenter's does.")
        fov = fov_mask(item.image.pixels)
        s = photo_scores(item.mask, pred.foreground, fov, pred.mask)
        counts.append(s.pop("counts"))
        rows.append({"id": item_id(item, index), "group": group_of(item, index),
                     "lesion_share": float(((np.asarray(item.mask) != 0) & fov).sum() / fov.sum()), **s})
    counts = np.stack(counts)
    col = {k: np.array([float(r[k]) for r in rows]) for k in ("dice", "sensitivity", "aupr", "auc")}
    stats: dict[str, Callable] = {k: (lambda r, k=k: _nanmean(col[k][r])) for k in ("dice", "sensitivity", "aupr")}
    stats["aupr_pooled"] = lambda r: aupr(counts[r].sum(0))
    stats["auc"] = lambda r: _nanmean(col["auc"][r])
    intervals = bootstrap(group_rows([r["group"] for r in rows]), stats, resamples, seed)
    every = np.arange(len(rows))
    n = {k: int(np.isfinite(col[k]).sum()) for k in col}
    n["aupr_pooled"] = len(rows)
    return [Figure(k, FIGURES[k], stats[k](every), *intervals[k], n=n[k]) for k in FIGURES], rows


def _nanmean(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.mean()) if kept.size else math.nan


def cross_validate(case_key: str = "retina_lesions", arch: str = "unet", source: str = "idrid", folds: int = 3,
                   *, store=None, predictor=None, resamples: int = 1000, seed: int = 0,
                   progress: Callable[[str], None] | None = None, **choices) -> LesionEvaluation:
    """Train ``arch`` by the case's recipe for ``source`` once per fold (``folds`` folds by
    patient), answer each held-out photograph with the model that did not train on it and
    score the pooled answers (:func:`lesion_figures`). ``choices``: recipe overrides
    (``epochs``, ``input_size``...) passed to :func:`medlearn.train.recipes.train_recipe`."""
    from medlearn.cases import get_case
    from medlearn.predict import Predictor
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import split_data, train_recipe
    from medlearn.train.store import RunStore

    case = get_case(case_key)
    if not case.task.is_segmentation or case.task.num_classes != 2:
        raise MedlearnInputError(f"Lesion figures are for a two-class segmentation; {case.title} is not one.")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise MedlearnInputError(f"Cross-validation needs at least 2 folds, got {folds!r}.")
    store = store or RunStore()
    predictor = predictor or Predictor(device="cpu", store=store)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    items, preds, plan = [], [], {}
    for k in range(1, folds + 1):
        fold = f"{k}/{folds}"
        if progress:
            progress(f"fold {fold}: training {arch} on {source}")
        record = train_recipe(case.key, arch, source, store=store, fold=fold, seed=seed, **choices)
        if record.status != "done":
            raise MedlearnInputError(f"Fold {fold} stopped before it finished ({record.status}).")
        plan = plan or dict(record.config or {})
        _, held_out = split_data(make_plan(case, arch, source, fold=fold, seed=seed, **choices), case)
        for item in held_out:
            items.append(item)
            preds.append(predictor.predict(case.key, item.image, explain=None, checkpoint=record.checkpoint))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    figures, rows = lesion_figures(items, preds, resamples, seed)
    notes = [f"Each photograph answered by the one of {folds} models that did not train on it; folds by patient.",
             "Inside each photograph's field of view (derived: medlearn.data.fov.fov_mask); probabilities "
             "binned to 0.001 for the precision-recall curve."]
    return LesionEvaluation(case.key, arch, source, f"{folds}-fold", figures, rows, notes, wall, cpu, plan)
