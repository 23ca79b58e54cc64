"""FROC: how many nodules a detector finds at a given number of false alarms per image.

LUNA16 scores nodule detection this way (Setio et al., Med Image Anal 42:1-13, 2017): lower
the score a detector acts on and it finds more nodules (sensitivity) at the price of more
false positives per image; the FROC curve plots one against the other, and the competition
performance metric (CPM) is the mean sensitivity at 1/8, 1/4, 1/2, 1, 2, 4 and 8 false
positives per image (:data:`FP_RATES`).

* A hit (:func:`match`): a predicted box whose centre lies inside a true box (the 2D form of
  LUNA16's "within the nodule's radius of its centre"), of the same class. Each true object
  counts once, with the best score of the boxes that hit it (0 when none does: missed); a
  box that hits no true object is a false positive; a second box on an object already hit
  is neither (LUNA16 ignores such duplicates).
* The curve (:func:`froc_curve`): MONAI's ``compute_froc_curve_data`` definition (the
  CAMELYON16 evaluation code) at every distinct score, computed by sorting instead of one
  pass per threshold, so a bootstrap of a thousand resamples stays fast (a test checks the
  two agree); sensitivities at the seven rates are interpolated on it with MONAI's
  ``compute_froc_score`` (``numpy.interp``; beyond the curve's largest false-positive rate
  the last sensitivity holds, as LUNA16's evaluation does).
* Intervals (:func:`froc_figures`): percentile bootstrap over images, or over patients when
  the images name them, with :func:`medlearn.evaluate.bootstrap`.

Written here because no kept library scores boxes this way: MONAI's FROC functions take
points in a label mask (CAMELYON16) and pycocotools scores average precision, not FROC.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from medlearn.errors import MedlearnInputError

FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
HIT_RULE = "the predicted box's centre lies inside the true box"


def rate_key(rate: float) -> str:
    """``1.0`` -> ``"sensitivity_1fp"``, ``0.125`` -> ``"sensitivity_0.125fp"`` (history keys)."""
    return f"sensitivity_{rate:g}fp"


def rate_label(rate: float) -> str:
    """``0.125`` -> ``"1/8"``, ``2.0`` -> ``"2"``: how FROC plots name the rates."""
    return f"1/{round(1 / rate):d}" if rate < 1 else f"{rate:g}"


@dataclass
class ImageResult:
    """One image's matched detections: ``tp`` one score per true object (0 = missed),
    ``fp`` the scores of the boxes that hit nothing."""

    tp: np.ndarray
    fp: np.ndarray

    @property
    def n_objects(self) -> int:
        return len(self.tp)


def match(boxes, scores, truth, labels=None, truth_labels=None) -> ImageResult:
    """Match one image's predicted boxes ``(M, 4)`` with scores ``(M,)`` to its true boxes
    ``(N, 4)`` (``x0, y0, x1, y1``; the stop is exclusive), by :data:`HIT_RULE` (module doc).
    ``labels``/``truth_labels``: classes (default all 1)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    truth = np.asarray(truth, np.float64).reshape(-1, 4)
    if len(boxes) != len(scores):
        raise MedlearnInputError(f"{len(boxes)} boxes but {len(scores)} scores.")
    if not np.all(np.isfinite(scores)) or (len(scores) and (scores.min() < 0 or scores.max() > 1)):
        raise MedlearnInputError("Detection scores must be finite numbers in [0, 1].")
    labels = np.ones(len(boxes), int) if labels is None else np.asarray(labels).reshape(-1)
    truth_labels = np.ones(len(truth), int) if truth_labels is None else np.asarray(truth_labels).reshape(-1)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    hits = ((cx[:, None] >= truth[None, :, 0]) & (cx[:, None] < truth[None, :, 2])
            & (cy[:, None] >= truth[None, :, 1]) & (cy[:, None] < truth[None, :, 3])
            & (labels[:, None] == truth_labels[None, :]))  # (M, N)
    tp = np.where(hits, scores[:, None], 0.0).max(0) if len(boxes) else np.zeros(len(truth))
    return ImageResult(tp=tp.astype(np.float64), fp=scores[~hits.any(1)] if len(truth) else scores.copy())


def froc_curve(results: Sequence[ImageResult]) -> tuple[np.ndarray, np.ndarray]:
    """``(false positives per image, sensitivity)`` at every distinct score, highest
    threshold last (MONAI ``compute_froc_curve_data``'s definition and order; module doc)."""
    if not results:
        raise MedlearnInputError("FROC needs at least one image.")
    tp = np.concatenate([r.tp for r in results]) if results else np.zeros(0)
    fp = np.concatenate([r.fp for r in results] + [np.zeros(1)])  # a neutral 0: every real score is a threshold
    n_images, n_objects = len(results), len(tp)
    thresholds = np.unique(np.concatenate([tp, fp]))[1:]
    fp_sorted, tp_sorted = np.sort(fp), np.sort(tp)
    fps = (len(fp) - np.searchsorted(fp_sorted, thresholds, side="left")) / n_images
    tps = (len(tp) - np.searchsorted(tp_sorted, thresholds, side="left")) / max(n_objects, 1)
    sens = tps if n_objects else np.full(len(thresholds), np.nan)
    return np.append(fps, 0.0), np.append(sens, 0.0 if n_objects else np.nan)


def sensitivities(results: Sequence[ImageResult], rates: Sequence[float] = FP_RATES) -> np.ndarray:
    """Sensitivity at each false-positive rate, interpolated on :func:`froc_curve` (NaN when
    the images hold no true object)."""
    if sum(r.n_objects for r in results) == 0:
        return np.full(len(rates), np.nan)
    fps, sens = froc_curve(results)
    return np.interp(np.asarray(rates, float), fps[::-1], sens[::-1])  # MONAI compute_froc_score's step


def froc_scores(results: Sequence[ImageResult], rates: Sequence[float] = FP_RATES) -> dict[str, float]:
    """``{"cpm": mean sensitivity, "sensitivity_<r>fp": ..., "froc_images": n, "froc_objects": n}``:
    the keys a detector's validation epoch records (:mod:`medlearn.train.recorder`)."""
    sens = sensitivities(results, rates)
    out: dict[str, float] = {"cpm": float(np.mean(sens)) if np.all(np.isfinite(sens)) else math.nan}
    out.update({rate_key(r): float(s) for r, s in zip(rates, sens)})
    out["froc_images"] = len(results)
    out["froc_objects"] = int(sum(r.n_objects for r in results))
    return out


def truth_boxes(label_map, num_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes (N, 4), labels (N,))`` of a label map's objects (connected regions of each
    class: :func:`medlearn.models.instances.mask_instances`)."""
    from medlearn.models.instances import mask_instances

    found = mask_instances(label_map, num_classes, with_masks=False)
    return found["boxes"].numpy().astype(np.float64), found["labels"].numpy()


def match_instances(found, label_map, num_classes: int = 2) -> ImageResult:
    """:func:`match` a detector's :class:`~medlearn.models.instances.Instances` against the
    objects of a label map on the same grid."""
    boxes, labels = truth_boxes(label_map, num_classes)
    return match(found.boxes, found.scores, boxes, found.labels, labels)


# -- scoring a trained detector with intervals -------------------------------------------------
@dataclass
class FrocEvaluation:
    """FROC of a detector on a set of images, with bootstrap intervals.

    Attributes:
        figures: CPM and the seven sensitivities (:class:`medlearn.evaluate.Figure`, each
            with its 95 % interval and n = images).
        n_images, n_objects, n_groups: images, true objects, patients (or images) resampled.
        curve: ``{"fps": [...], "sensitivity": [...]}`` the whole FROC curve, increasing fps.
        results: per image matches (``ImageResult``), in item order.
        notes: what to keep in mind.
    """

    figures: list
    n_images: int
    n_objects: int
    n_groups: int
    curve: dict[str, list[float]]
    results: list[ImageResult] = field(repr=False)
    resamples: int = 0
    notes: list[str] = field(default_factory=list)

    def figure(self, name: str):
        from medlearn.evaluate import figure_named

        return figure_named(self.figures, name)

    def to_dict(self) -> dict[str, Any]:
        return {"figures": {f.name: f.to_dict() for f in self.figures}, "n_images": self.n_images,
                "n_objects": self.n_objects, "n_groups": self.n_groups, "curve": self.curve,
                "resamples": self.resamples, "hit_rule": HIT_RULE, "notes": list(self.notes)}


def froc_figures(results: Sequence[ImageResult], groups: Sequence | None = None, resamples: int = 1000,
                 seed: int = 0, rates: Sequence[float] = FP_RATES) -> FrocEvaluation:
    """CPM and the sensitivities at ``rates`` with percentile bootstrap intervals over whole
    ``groups`` (patients; default each image its own), :func:`medlearn.evaluate.bootstrap`."""
    from medlearn.evaluate import Figure, bootstrap, group_rows

    results = list(results)
    if not results:
        raise MedlearnInputError("There are no images to score.")
    groups = list(groups) if groups is not None else list(range(len(results)))
    if len(groups) != len(results):
        raise MedlearnInputError(f"{len(groups)} groups for {len(results)} images: give one per image.")
    rows = group_rows(groups)

    def pick(r: np.ndarray) -> list[ImageResult]:
        return [results[i] for i in r]

    stats = {"cpm": lambda r: float(np.mean(sensitivities(pick(r), rates)))}
    for k, rate in enumerate(rates):
        stats[rate_key(rate)] = lambda r, k=k: float(sensitivities(pick(r), rates)[k])
    intervals = bootstrap(rows, stats, resamples, seed)
    every = np.arange(len(results))
    labels = {"cpm": "CPM (mean sensitivity at 1/8-8 FP per image)",
              **{rate_key(r): f"Sensitivity at {rate_label(r)} FP per image" for r in rates}}
    figures = [Figure(key, labels[key], fn(every), *intervals[key], n=len(results)) for key, fn in stats.items()]
    fps, sens = froc_curve(results)
    n_objects = int(sum(r.n_objects for r in results))
    notes = []
    if n_objects == 0:
        notes.append("These images hold no true object: sensitivity is undefined.")
    elif fps.max() < max(rates):
        notes.append(f"At its lowest score the detector makes {fps.max():.2f} false positives per image; "
                     "sensitivities at higher rates are that of its lowest score (as LUNA16 counts them).")
    return FrocEvaluation(figures, len(results), n_objects, len(rows),
                          {"fps": [float(v) for v in fps[::-1]], "sensitivity": [float(v) for v in sens[::-1]]},
                          results, int(resamples), notes)


def evaluate_detector(case: str, items: Sequence, checkpoint, *, predictor=None, resamples: int = 1000,
                      seed: int = 0) -> FrocEvaluation:
    """Predict every item (``image`` and a ``mask`` whose regions are the true objects) through
    :meth:`medlearn.predict.Predictor.predict` (the one prediction path; no explanation) and
    score the boxes; intervals over patients when the items name them (``meta["patient"]``).

    ``checkpoint`` may instead be one checkpoint per item (cross-validation: each item answered
    by the fold model that did not train on it; the answers are pooled into one FROC)."""
    from medlearn.cases import get_case
    from medlearn.predict import default_predictor
    from medlearn.train.data import group_of

    study = get_case(case)
    if not study.task.is_detection:
        raise MedlearnInputError(f"{study.title} is not a detection study; FROC scores boxes.")
    predictor = predictor or default_predictor()
    per_item = not isinstance(checkpoint, (str, os.PathLike))
    if per_item and len(checkpoint) != len(items):
        raise MedlearnInputError(f"{len(checkpoint)} checkpoints for {len(items)} items: give one per item.")
    results, groups = [], []
    for index, item in enumerate(items):
        if getattr(item, "mask", None) is None:
            raise MedlearnInputError(f"Item {index} has no mask of its true objects.")
        pred = predictor.predict(case, item.image, explain=None, checkpoint=checkpoint[index] if per_item else checkpoint)
        results.append(match_prediction(pred, item.mask, study.task.class_names))
        groups.append(group_of(item, index))
    return froc_figures(results, groups, resamples, seed)


def match_prediction(pred, label_map, class_names: Sequence[str]) -> ImageResult:
    """:func:`match` the boxes of a :class:`medlearn.predict.Prediction` (``pred.boxes``: dicts
    with ``box``, ``score`` and ``label``) against the objects of the item's label map."""
    boxes = np.array([b["box"] for b in pred.boxes], np.float64).reshape(-1, 4)
    scores = np.array([b["score"] for b in pred.boxes], np.float64)
    labels = np.array([list(class_names).index(b["label"]) for b in pred.boxes], int)
    truth, truth_labels = truth_boxes(label_map, len(class_names))
    return match(boxes, scores, truth, labels, truth_labels)
