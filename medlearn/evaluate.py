"""Scoring a trained model on labelled data, every figure with its n and a bootstrap interval.

:func:`evaluate` finds the model (a checkpoint, or the best finished run of the case),
loads the labelled items and predicts each one through :meth:`medlearn.predict.Predictor.predict`
(the one prediction path: the model card's preprocessing, its operating threshold; no
explanation), then scores the answers with :mod:`medlearn.metrics`:

* classification: accuracy (argmax, as training and races score it), AUC, and at the
  model's decisions (its operating threshold when it has one, else argmax) accuracy,
  balanced accuracy, sensitivity and specificity (two classes: of class 1; more
  classes: of each class against the rest), quadratic kappa for ordinal grades;
* segmentation: Dice, IoU and HD95 (mm) per image or volume, at the image's own
  resolution, then averaged as :mod:`medlearn.train.recorder` averages them: a 2D
  segmenter of volumes is scored per volume (the mean of per-volume scores), other models
  per foreground class (the mean of per-class means); per class too when there are several;
* heart: the ejection-fraction error per patient, when the items carry ``meta["patient"]``
  and ``meta["phase"]`` (``"ED"``/``"ES"``) for both phases (Sunnybrook does; phantom
  slices do not), through :func:`medlearn.clinical.lv_function` on the expert and the
  predicted stacks.

Intervals: percentile bootstrap (default 1000 resamples, seedable) over patients when the
items name them (``meta["patient"]``), else over items; each resample recomputes every
figure on the same draw. The items:

* ``split="val"`` with a checkpoint trained by MedLearn on the same data: that run's
  validation split, rebuilt from the checkpoint's plan (:func:`medlearn.train.recipes.split_data`),
  so the figures reproduce the validation scores stored with the weights (``training``);
* otherwise the source's own split (``get_source(name).load(case, split=...)``) or a
  folder (``FolderSource(root=DIR)``); items that trained the model are counted
  (``seen_in_training``) when the model was trained on the same source.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from medlearn.errors import MedlearnError, MedlearnInputError, UnknownNameError

DEFAULT_RESAMPLES = 1000
LEVEL = 0.95
SPLITS = ("val", "test", "all")
SEGMENTATION_FIGURES = ("dice", "iou", "hd95")


@dataclass
class Figure:
    """One score: its value on all items, the bootstrap interval and how many items it rests on.

    Attributes:
        name: key (``"auc"``, ``"dice"``, ``"sensitivity[malignant]"``...).
        label: words for tables.
        value: the figure on every item (NaN when undefined, e.g. AUC with one class).
        low, high: the bootstrap interval (NaN without resamples or when undefined).
        n: items (or patients, for EF) the figure is computed on.
        training: the value stored with the weights for this validation split, if any.
    """

    name: str
    label: str
    value: float
    low: float = math.nan
    high: float = math.nan
    n: int = 0
    training: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "value": _finite(self.value), "ci_low": _finite(self.low),
                "ci_high": _finite(self.high), "n": self.n, "training": _finite(self.training)}


def figure_named(figures, name: str) -> Figure:
    """The figure called ``name`` among ``figures`` (KeyError when none is)."""
    for f in figures:
        if f.name == name:
            return f
    raise KeyError(name)


@dataclass
class Evaluation:
    """The result of :func:`evaluate` (``to_dict()`` is JSON-ready: NaN becomes null).

    Attributes:
        case, arch, checkpoint: what was scored.
        data: the source name or folder path; split and split_note: which items, in words.
        n_items: items scored; n_groups: patients (or items) the bootstrap resamples.
        threshold: the operating threshold on p(class 1) the decisions used, or None (argmax).
        figures: the scores, in table order.
        items: one row per item (id, group, truth, answer, per-item scores, or error).
        resamples, seed, level: the bootstrap.
        seen_in_training: items of this set that trained the model (None when not checked).
        notes: what to keep in mind when reading the figures.
        ef: heart: one row per patient with ED and ES slices (``patient``, ``ef_expert``,
            ``ef_predicted``, ``error``: predicted - expert, in % points).
        samples: the scored items themselves (images, truth, ``meta``), in the order of the
            rows without an ``error``, for pages that show them; not in ``to_dict()``.
    """

    case: str
    arch: str
    checkpoint: str
    data: str
    split: str
    split_note: str
    n_items: int
    n_groups: int
    threshold: float | None
    figures: list[Figure]
    items: list[dict[str, Any]]
    resamples: int
    seed: int
    level: float = LEVEL
    seen_in_training: int | None = None
    notes: list[str] = field(default_factory=list)
    ef: list[dict[str, Any]] = field(default_factory=list)
    samples: list = field(default_factory=list, repr=False, compare=False)

    def figure(self, name: str) -> Figure:
        return figure_named(self.figures, name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case, "arch": self.arch, "checkpoint": self.checkpoint, "data": self.data,
            "split": self.split, "split_note": self.split_note, "n_items": self.n_items,
            "n_groups": self.n_groups, "threshold": self.threshold,
            "figures": {f.name: f.to_dict() for f in self.figures},
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "level": self.level,
                          "unit": "patient" if self.n_groups < self.n_items else "item"},
            "seen_in_training": self.seen_in_training, "notes": list(self.notes),
            "ejection_fraction": _finite(self.ef), "items": _finite(self.items),
        }


def evaluate(case: str, data: str | os.PathLike | None = None, *, arch: str | None = None,
             checkpoint: str | os.PathLike | None = None, split: str = "val",
             resamples: int = DEFAULT_RESAMPLES, seed: int = 0, limit: int | None = None, predictor=None,
             progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Score a trained model of ``case`` on labelled data (see module doc).

    Args:
        case: case key (``"breast"``...).
        data: a dataset source name, or a folder (``FolderSource`` layout); None: the data the
            checkpoint was trained on (its plan's source).
        arch: architecture of the best finished run to score (None: the best network).
        checkpoint: a ``.safetensors`` checkpoint or ``.classic`` folder (overrides ``arch``).
        split: ``"val"``, ``"test"`` or ``"all"``.
        resamples: bootstrap resamples (0: no intervals).
        seed: the bootstrap's seed (same seed, same intervals).
        limit: at most this many items.
        predictor: a :class:`~medlearn.predict.Predictor` (default: the shared one).
        progress: called with ``(done, total)`` after each item.

    Raises:
        MedlearnInputError: a bad split, size, data or item set; ModelUnavailableError: no model;
        UnknownNameError: an unknown case or source.
    """
    from medlearn.cases import get_case
    from medlearn.predict import check_model, default_predictor

    study = get_case(case)
    if split not in SPLITS:
        raise MedlearnInputError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    _check_count("The number of bootstrap resamples", resamples, minimum=0)
    if limit is not None:
        _check_count("The item limit", limit, minimum=1)
    predictor = predictor or default_predictor()
    path = Path(checkpoint).expanduser() if checkpoint is not None else predictor.find_checkpoint(study, arch)
    loaded = predictor.load(path)
    check_model(loaded, study)  # a checkpoint of another case fails here, before any data is loaded
    meta = loaded.meta
    if arch is not None and checkpoint is not None and meta.get("name") not in (None, arch):
        raise MedlearnInputError(f"The checkpoint is a {meta.get('name')!r} model, not {arch!r}.")
    items, data_name, split_note, training, seen, notes = evaluation_items(study, data, split, meta, limit)
    result = score(study.key, items, path, predictor=predictor, resamples=resamples, seed=seed,
                   training=training, progress=progress)
    result.data, result.split, result.split_note = data_name, split, split_note
    result.seen_in_training = seen
    result.notes = notes + result.notes
    return result


def score(case: str, items: Sequence, checkpoint: str | os.PathLike | Sequence[str | os.PathLike], *,
          predictor=None, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, training: dict | None = None,
          progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Predict and score ``items`` (``Sample``s or phantoms: ``image``, ``label``, ``mask``,
    ``meta``) with the model of ``checkpoint``; ``training`` holds stored validation scores to
    show beside the figures. ``data``/``split`` of the result are left for the caller.

    ``checkpoint`` may instead be one checkpoint per item (cross-validation: each item is
    answered by the fold model that did not train on it, and the pooled answers are scored).
    """
    from medlearn.cases import get_case
    from medlearn.predict import default_predictor
    from medlearn.train.data import group_of

    study = get_case(case)
    _check_count("The number of bootstrap resamples", resamples, minimum=0)
    predictor = predictor or default_predictor()
    per_item = None if isinstance(checkpoint, (str, os.PathLike)) else [predictor.load(c) for c in checkpoint]
    if per_item is not None and len(per_item) != len(items):
        raise MedlearnInputError(f"{len(per_item)} checkpoints for {len(items)} items: give one per item.")
    loaded = per_item[0] if per_item else predictor.load(checkpoint)
    meta = loaded.meta
    segmentation = study.task.is_segmentation
    kept, preds, rows, failures = [], [], [], []
    for index, item in enumerate(items):
        row = {"id": _item_name(item, index), "group": group_of(item, index)}
        truth = getattr(item, "mask", None) if segmentation else getattr(item, "label", None)
        if truth is None:
            row["error"] = "no expert " + ("mask" if segmentation else "label")
            failures.append(row)
        else:
            try:
                model = per_item[index] if per_item else loaded
                pred = predictor.predict(study.key, item.image, explain=None, checkpoint=model.path)
            except MedlearnInputError as exc:  # this item cannot be scored: counted, reported, left out
                row["error"] = str(exc)
                failures.append(row)
            else:
                kept.append(item)
                preds.append(pred)
        rows.append(row)
        if progress is not None:
            progress(index + 1, len(items))
    notes = []
    if failures:
        if not kept:
            raise MedlearnInputError(f"None of the {len(items)} items could be scored; the first: "
                                     f"{failures[0]['id']}: {failures[0]['error']}")
        notes.append(f"{len(failures)} of {len(items)} items could not be scored and are left out "
                     f"(first: {failures[0]['id']}: {failures[0]['error']}).")
    scored = [r for r in rows if "error" not in r]
    groups = group_rows([row["group"] for row in scored])
    ef: list[dict] = []
    if study.task.is_detection:  # boxes: FROC (CPM and the sensitivities at 1/8..8 false positives per image)
        figures, more = _detection(study, kept, preds, scored, resamples, seed)
        threshold = None
    elif segmentation:
        figures, more, ef = _segmentation(study, kept, preds, scored, meta, groups, resamples, seed)
        threshold = None
    else:
        figures, more, threshold = _classification(study, kept, preds, scored, groups, resamples, seed)
    notes += more
    for f in figures:
        f.training = _stored(training or {}, f.name)
    if resamples and len(groups) < 2:
        notes.append("Fewer than two patients/items: no bootstrap interval.")
    models = sorted({str(m.path) for m in per_item}) if per_item else [str(loaded.path)]
    if len(models) > 1:
        notes.append(f"Each item answered by the one of {len(models)} models that did not train on it "
                     "(cross-validation); the answers are pooled.")
    return Evaluation(case=study.key, arch=str(meta.get("name", "?")), checkpoint=", ".join(models), data="",
                      split="", split_note="", n_items=len(kept), n_groups=len(groups), threshold=threshold,
                      figures=figures, items=rows, resamples=int(resamples), seed=int(seed), notes=notes,
                      ef=ef, samples=kept)


def group_rows(groups: Sequence) -> list[np.ndarray]:
    """The row indices of each patient (or item): ``["a", "b", "a"]`` -> ``[[0, 2], [1]]``, in
    order of first appearance; what :func:`bootstrap` resamples."""
    members: dict = {}
    for row, group in enumerate(groups):
        members.setdefault(group, []).append(row)
    return [np.array(rows, dtype=np.intp) for rows in members.values()]


def bootstrap(groups: Sequence[np.ndarray], statistics: dict[str, Callable[[np.ndarray], float]],
              resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
              level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """Percentile intervals of ``statistics`` (each a function of row indices) over resamples of
    whole ``groups`` (arrays of row indices: a patient's items) drawn with replacement; every
    statistic sees the same draws. Resamples where a statistic is undefined (NaN) are left out
    of its interval. Fewer than two groups or no resamples: NaN intervals."""
    out = {name: (math.nan, math.nan) for name in statistics}
    if resamples <= 0 or len(groups) < 2:
        return out
    rng = np.random.default_rng(seed)
    draws = {name: np.empty(resamples) for name in statistics}
    singles = np.concatenate(groups) if all(len(g) == 1 for g in groups) else None  # one item each
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # a resample with one class present: sklearn warns, we get NaN
        for r in range(resamples):
            picks = rng.integers(0, len(groups), len(groups))
            rows = singles[picks] if singles is not None else np.concatenate([groups[g] for g in picks])
            for name, fn in statistics.items():
                draws[name][r] = fn(rows)
    alpha = (1.0 - level) / 2.0
    for name, values in draws.items():
        values = values[np.isfinite(values)]
        if len(values):
            out[name] = (float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha)))
    return out


# -- detection -------------------------------------------------------------------------------
def _detection(study, items, preds, rows, resamples, seed):
    """A detector's boxes matched to the true objects (each connected region of the expert mask)
    and scored as LUNA16 does (:mod:`medlearn.froc`): CPM and sensitivity at 1/8 to 8 false
    positives per image, intervals over patients; per item the objects found and false alarms
    at the detector's own score threshold."""
    from medlearn.froc import HIT_RULE, froc_figures, match_prediction

    results = [match_prediction(p, item.mask, study.task.class_names) for item, p in zip(items, preds)]
    for row, r in zip(rows, results):
        row.update({"objects": r.n_objects, "found": int((r.tp > 0).sum()), "false_positives": len(r.fp)})
    froc = froc_figures(results, [row["group"] for row in rows], resamples, seed)
    notes = [f"FROC over {froc.n_images} images holding {froc.n_objects} true objects; a hit: {HIT_RULE}."]
    return froc.figures, notes + froc.notes


# -- classification --------------------------------------------------------------------------
def _classification(study, items, preds, rows, groups, resamples, seed):
    from sklearn.metrics import balanced_accuracy_score

    from medlearn.metrics import accuracy, auc, kappa, rates

    names = list(study.task.class_names)
    y = np.array([int(it.label) for it in items])
    probs = np.array([[p.probabilities[n] for n in names] for p in preds], dtype=np.float64)
    decided = np.array([int(p.class_index) for p in preds])  # the Predictor's decisions (its threshold)
    argmax = probs.argmax(1)
    thresholds = {p.threshold for p in preds}
    threshold = preds[0].threshold if len(thresholds) == 1 else None  # one model's (None: several or none)
    thresholded = any(t is not None for t in thresholds)
    for row, p, label in zip(rows, preds, y):
        row.update(truth=names[label], prediction=p.prediction, correct=bool(p.prediction == names[label]),
                   probabilities={n: round(float(v), 6) for n, v in p.probabilities.items()})
    at = "at the threshold" if thresholded else "argmax"
    stats: dict[str, Callable] = {"accuracy": lambda r: accuracy(y[r], argmax[r]),
                                  "auc": lambda r: auc(y[r], probs[r])}
    labels = {"accuracy": "accuracy (argmax)", "auc": "AUC"}
    counts: dict[str, Callable] = {}
    if thresholded:
        stats["accuracy_at_threshold"] = lambda r: accuracy(y[r], decided[r])
        labels["accuracy_at_threshold"] = f"accuracy {at}"
    if len(names) == 2:
        for key in ("balanced_accuracy", "sensitivity", "specificity"):
            stats[key] = lambda r, k=key: rates(y[r], decided[r])[k]
        labels.update(balanced_accuracy=f"balanced accuracy ({at})",
                      sensitivity=f"sensitivity: {names[1]} ({at})", specificity=f"specificity ({at})")
        counts.update(sensitivity=lambda r: int((y[r] == 1).sum()),
                      specificity=lambda r: int((y[r] == 0).sum()))
    else:
        stats["balanced_accuracy"] = lambda r: float(balanced_accuracy_score(y[r], decided[r]))
        labels["balanced_accuracy"] = "balanced accuracy"
        for k, name in enumerate(names):
            stats[f"sensitivity[{name}]"] = lambda r, k=k: rates(y[r] == k, decided[r] == k)["sensitivity"]
            stats[f"specificity[{name}]"] = lambda r, k=k: rates(y[r] == k, decided[r] == k)["specificity"]
            labels[f"sensitivity[{name}]"] = f"sensitivity: {name} vs rest"
            labels[f"specificity[{name}]"] = f"specificity: {name} vs rest"
            counts[f"sensitivity[{name}]"] = lambda r, k=k: int((y[r] == k).sum())
            counts[f"specificity[{name}]"] = lambda r, k=k: int((y[r] != k).sum())
    if study.task.ordinal:
        stats["kappa"] = lambda r: kappa(y[r], decided[r])
        labels["kappa"] = "quadratic kappa"
    every = np.arange(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = {k: float(fn(every)) for k, fn in stats.items()}
    intervals = bootstrap(groups, stats, resamples, seed)
    figures = [Figure(k, labels[k], values[k], *intervals[k], n=counts[k](every) if k in counts else len(y))
               for k in stats]
    notes = []
    if threshold is not None:
        notes.append(f"Decisions at the model's operating threshold: {names[1]} when its probability is "
                     f"at least {threshold:.3f} (chosen on the training run's validation data); accuracy "
                     "(argmax) decides at 0.5, as training and races score it.")
    elif thresholded:
        notes.append(f"Decisions at each model's own operating threshold ({', '.join(f'{t:.3f}' for t in sorted(t for t in thresholds if t is not None))}), "
                     "chosen on its training run's validation data; accuracy (argmax) decides at 0.5.")
    if len(np.unique(y)) < 2:
        notes.append("Only one class is present, so the AUC is undefined.")
    return figures, notes, threshold


# -- segmentation ----------------------------------------------------------------------------
def _segmentation(study, items, preds, rows, meta, groups, resamples, seed):
    from medlearn.data.sources.base import undrawn_classes
    from medlearn.metrics import segmentation_metrics

    names = list(study.task.class_names)
    k = len(names)
    fg = names[1:]
    scores = {m: np.full((len(items), k - 1), np.nan) for m in SEGMENTATION_FIGURES}
    model_dims = int(meta.get("spatial_dims") or study.task.spatial_dims)
    volumes_by_2d = False
    sizes = set()
    undrawn: dict[str, int] = {}
    for i, (item, pred, row) in enumerate(zip(items, preds, rows)):
        truth = np.asarray(item.mask)
        image = item.image
        volumes_by_2d |= model_dims == 2 and image.spatial_dims == 3
        sizes.add(tuple(image.spatial_shape[-2:]))
        s = segmentation_metrics(pred.mask[None], truth[None], k, spacing=image.spacing, class_names=names)
        missing = undrawn_classes(item, k)  # classes the experts did not draw on this item
        for m in SEGMENTATION_FIGURES:
            scores[m][i] = [np.nan if c + 1 in missing else s[f"{m}_per_class"][fg[c]]
                            for c in range(len(fg))]
        for c, name in enumerate(fg):
            if c + 1 in missing:
                undrawn[name] = undrawn.get(name, 0) + 1
        row.update({m: _finite(round(_nanmean(scores[m][i]), 6)) for m in SEGMENTATION_FIGURES})
    per_volume = volumes_by_2d  # as medlearn.train.recorder scores a 2D segmenter of volumes

    def overall(m):
        def fn(r):
            block = scores[m][r]
            if per_volume:  # mean over volumes of each volume's class mean
                return _nanmean(np.array([_nanmean(v) for v in block]))
            return _nanmean(np.array([_nanmean(block[:, c]) for c in range(block.shape[1])]))
        return fn

    stats, labels, counts = {}, {}, {}
    units = {"hd95": " (mm)"}
    for m in SEGMENTATION_FIGURES:
        stats[m] = overall(m)
        labels[m] = {"dice": "Dice", "iou": "IoU", "hd95": "HD95"}[m] + units.get(m, "")
        counts[m] = lambda r, m=m: int(np.isfinite(scores[m][r]).any(1).sum())
        if len(fg) > 1:
            for c, name in enumerate(fg):
                key = f"{m}[{name}]"
                stats[key] = lambda r, m=m, c=c: _nanmean(scores[m][r, c])
                labels[key] = f"{labels[m]}: {name}"
                counts[key] = lambda r, m=m, c=c: int(np.isfinite(scores[m][r, c]).sum())
    every = np.arange(len(items))
    intervals = bootstrap(groups, stats, resamples, seed)
    figures = [Figure(key, labels[key], float(stats[key](every)), *intervals[key], n=counts[key](every))
               for key in stats]
    notes = [f"{name}: not drawn by the experts in {n} item(s), not scored there."
             for name, n in undrawn.items()]
    if per_volume:
        notes.append("A 2D model of volumes: each volume is scored whole (its slices stacked), and the mean "
                     "is over volumes, as training validates it; training's HD95 is per slice, this one per "
                     "volume.")
    size = meta.get("input_size")
    if size and any(s != (size, size) for s in sizes):
        notes.append(f"Scored at each image's own resolution (the model reads {size} x {size} pixels); "
                     "training scored masks resized to its input, so stored validation figures can differ "
                     "a little.")
    if study.modality == "OP" and k == 2 and all(p.foreground is not None for p in preds):
        fov_figures, fov_notes = _field_of_view(items, preds, rows, groups, resamples, seed)
        figures += fov_figures
        notes += fov_notes
    ef_rows: list[dict] = []
    if "ef_percent" in study.measurements:
        ef_figures, ef_notes, ef_rows = _ejection_fraction(items, preds, resamples, seed)
        figures += ef_figures
        notes += ef_notes
    return figures, notes, ef_rows


def _field_of_view(items, preds, rows, groups, resamples, seed):
    """A two-class segmentation of fundus photographs (vessels, exudates): sensitivity,
    specificity, accuracy, AUC and Dice inside each photograph's field of view
    (:func:`medlearn.metrics.fov_scores` on :func:`medlearn.data.fov.fov_mask`), as the
    retinal literature reports them; the mean over photographs, resampled by patient."""
    from medlearn.data.fov import fov_mask
    from medlearn.metrics import FOV_FIGURES, fov_scores

    values = np.full((len(items), len(FOV_FIGURES)), np.nan)
    missed = []
    for i, (item, pred, row) in enumerate(zip(items, preds, rows)):
        try:
            s = fov_scores(item.mask, pred.foreground, fov_mask(item.image.pixels), predicted=pred.mask)
        except MedlearnInputError as exc:  # not a fundus photograph: no field of view to score in
            missed.append(f"{row['id']}: {exc}")
            continue
        values[i] = [s[m] for m in FOV_FIGURES]
        row.update({f"fov_{m}": _finite(round(float(s[m]), 6)) for m in FOV_FIGURES})
    words = {"sensitivity": "sensitivity", "specificity": "specificity", "accuracy": "accuracy", "auc": "AUC",
             "dice": "Dice"}
    stats = {f"fov_{m}": (lambda r, j=j: _nanmean(values[r, j])) for j, m in enumerate(FOV_FIGURES)}
    intervals = bootstrap(groups, stats, resamples, seed)
    every = np.arange(len(items))
    figures = [Figure(key, f"{words[m]} (in the field of view)", stats[key](every), *intervals[key],
                      n=int(np.isfinite(values[:, j]).sum()))
               for j, (m, key) in enumerate(zip(FOV_FIGURES, stats))]
    notes = ["In the field of view: each photograph's camera disc (derived: medlearn.data.fov.fov_mask), "
             "the model's own mask as its decisions, its probabilities for the AUC; the mean over photographs."]
    if missed:
        notes.append(f"No field of view found in {len(missed)} item(s), not scored there (first: {missed[0]}).")
    return figures, notes


def _ejection_fraction(items, preds, resamples, seed):
    """EF error per patient from the ED and ES slices of each (``meta["patient"]``, ``meta["phase"]``)."""
    from medlearn import clinical

    phases: dict[str, dict[str, list[int]]] = {}
    for i, item in enumerate(items):
        meta = getattr(item, "meta", None) or {}
        patient, phase = meta.get("patient"), meta.get("phase")
        if patient and phase in ("ED", "ES") and item.image.spatial_dims == 2:
            phases.setdefault(str(patient), {}).setdefault(phase, []).append(i)
    errors, skipped = [], []
    for patient, found in sorted(phases.items()):
        if set(found) != {"ED", "ES"}:
            continue
        try:
            stacks = {ph: _stack(items, preds, rows) for ph, rows in found.items()}
            spacing = _stack_spacing(items, found["ED"] + found["ES"])
            true = clinical.lv_function(stacks["ED"][0], stacks["ES"][0], spacing)["ef_percent"]
            predicted = clinical.lv_function(stacks["ED"][1], stacks["ES"][1], spacing)["ef_percent"]
        except MedlearnInputError as exc:
            skipped.append(f"{patient}: {exc}")
            continue
        errors.append((patient, true, predicted))
    if not errors:
        reason = "; ".join(skipped[:2]) if skipped else (
            "it needs end-diastolic and end-systolic slices of the same patient (meta patient and phase), "
            "and these items have none")
        return [], [f"No ejection-fraction error: {reason}."], []
    err = np.array([p - t for _, t, p in errors])
    groups = [np.array([i]) for i in range(len(err))]
    stats = {"ef_abs_error": lambda r: float(np.mean(np.abs(err[r]))),
             "ef_bias": lambda r: float(np.mean(err[r]))}
    intervals = bootstrap(groups, stats, resamples, seed)
    every = np.arange(len(err))
    figures = [Figure("ef_abs_error", "EF error, absolute (% points)", stats["ef_abs_error"](every),
                      *intervals["ef_abs_error"], n=len(err)),
               Figure("ef_bias", "EF error, predicted - expert (% points)", stats["ef_bias"](every),
                      *intervals["ef_bias"], n=len(err))]
    notes = ["EF per patient by Simpson's method over the slices contoured at ED and ES: "
             + ", ".join(f"{p} expert {t:.1f}% predicted {q:.1f}%" for p, t, q in errors) + "."]
    if skipped:
        notes.append(f"EF left out for {len(skipped)} patient(s): " + "; ".join(skipped) + ".")
    rows = [{"patient": p, "ef_expert": t, "ef_predicted": q, "error": q - t} for p, t, q in errors]
    return figures, notes, rows


def _stack(items, preds, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Expert and predicted ``(Z, Y, X)`` stacks of one phase, base to apex by slice position."""
    order = sorted(rows, key=lambda i: ((items[i].meta or {}).get("slice_location") or 0.0, i))
    shapes = {tuple(items[i].image.spatial_shape) for i in order}
    if len(shapes) > 1:
        raise MedlearnInputError(f"its slices differ in size {sorted(shapes)}")
    return (np.stack([np.asarray(items[i].mask) for i in order]),
            np.stack([np.asarray(preds[i].mask) for i in order]))


def _stack_spacing(items, rows: list[int]) -> tuple[float, float, float]:
    """``(slice spacing, row, col)`` in mm: the median gap between slice positions, else the
    slice thickness, else 1 (the EF, a ratio of volumes, does not depend on it)."""
    meta = [(items[i].meta or {}) for i in rows]
    positions = sorted({float(m["slice_location"]) for m in meta if m.get("slice_location") is not None})
    gaps = np.diff(positions)
    thickness = [float(m["slice_thickness_mm"]) for m in meta if m.get("slice_thickness_mm")]
    dz = float(np.median(gaps)) if len(gaps) else (thickness[0] if thickness else 1.0)
    sy, sx = (float(s) for s in items[rows[0]].image.spacing[-2:])
    return (dz if dz > 0 else 1.0, sy, sx)


# -- items -------------------------------------------------------------------------------------
def evaluation_items(study, data, split, meta, limit):
    """``(items, data name, split in words, stored validation scores, seen in training, notes)``."""
    from medlearn.data.sources import get_source
    from medlearn.data.sources.folder import FolderSource

    plan = meta.get("plan") if isinstance(meta.get("plan"), dict) else None
    if data is None:
        if plan is None or not plan.get("source"):
            raise MedlearnInputError("Name the data to score on (--data SOURCE or FOLDER): this checkpoint "
                                     "does not record what it was trained on.")
        data = plan["source"]
    name = os.fspath(data)
    try:
        source = get_source(name)
    except UnknownNameError:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise UnknownNameError(f"{name!r} is neither a dataset source nor a folder; see "
                                   "`python -m medlearn datasets` for the sources.") from None
        source, name = FolderSource(root=folder), str(folder)
    same_data = plan is not None and plan.get("source") == name and plan.get("case") == study.key
    notes: list[str] = []
    if split == "val" and same_data:
        run_plan = _run_plan(plan)
        from medlearn.train.recipes import split_data

        _, items = split_data(run_plan, study)
        note = (f"the training run's validation split, rebuilt from the checkpoint's plan "
                f"(seed {run_plan.seed}, {len(items)} items)")
        training = dict(meta.get("metrics") or {})
        if limit is not None and limit < len(items):
            items = items[:limit]
            training = {}
            notes.append(f"Only the first {limit} validation items: the stored validation scores do not "
                         "apply.")
        return items, name, note, training, 0, notes
    items = source.load(study.key, split=split, limit=limit)
    if not items:
        raise MedlearnInputError(f"The {name} data has no items in its {split!r} split for {study.title}.")
    note = f"the {split} split of {name}" if split != "all" else f"every item of {name}"
    if split == "val" and plan is not None:
        note += f" (not the training run's validation split: the model trained on {plan.get('source')})"
    seen = None
    if plan is not None and plan.get("source") == name and plan.get("case") == study.key:
        seen = _seen_in_training(_run_plan(plan), study, items)
        if seen:
            notes.append(f"{seen} of these {len(items)} items trained this model: its figures here are "
                         "optimistic.")
    return items, name, note, {}, seen, notes


def _run_plan(plan: dict):
    from medlearn.train.plan import RunPlan

    try:
        return RunPlan(**plan)
    except TypeError as exc:
        raise MedlearnInputError(f"The checkpoint's plan does not fit this MedLearn version ({exc}); its "
                                 "validation split cannot be rebuilt. Use --split test or --data.") from None


def _seen_in_training(plan, study, items) -> int:
    from medlearn.train.recipes import split_data

    try:
        train, _ = split_data(plan, study)
    except MedlearnError:
        return 0
    trained = {_identity(it, i) for i, it in enumerate(train)}
    return sum(_identity(it, i) in trained for i, it in enumerate(items))


def _identity(item, index: int):
    """What makes two items the same image: a phantom's case, seed and index, else the sample id."""
    params = getattr(item, "params", None) or (getattr(item, "meta", None) or {}).get("params") or {}
    if {"case", "seed", "index"} <= set(params):
        return ("phantom", params["case"], params["seed"], params["index"], params.get("size"))
    return ("id", str(getattr(item, "id", None) or f"item-{index}"))


def _item_name(item, index: int) -> str:
    return str(getattr(item, "id", None) or getattr(item.image, "source", None) or f"item-{index}")


# -- helpers -----------------------------------------------------------------------------------
def _stored(training: dict, name: str) -> float | None:
    """The stored validation score for figure ``name`` (``"dice[LV cavity]"`` reads
    ``training["dice_per_class"]["LV cavity"]``), or None."""
    if "[" in name and name.endswith("]"):
        base, cls = name[:-1].split("[", 1)
        value = (training.get(f"{base}_per_class") or {}).get(cls)
    else:
        value = training.get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _check_count(what: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MedlearnInputError(f"{what} must be a whole number of at least {minimum}, got {value!r}.")


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else math.nan


def _finite(value):
    """JSON-ready: NaN and infinities become None, numpy numbers Python ones."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
