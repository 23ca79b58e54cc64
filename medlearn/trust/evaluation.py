"""Evaluate: how good is a model on items it never trained on, at any threshold and any
prevalence, how honest are its probabilities, where does it fail, and for whom?

Pure functions over a model's held-out answers (:func:`held_out` reuses
:func:`medlearn.evaluate.evaluate` on the model's own validation split). Curves come from
scikit-learn, decisions, rates, temperatures and the calibration error from
:mod:`medlearn.metrics`. Written here because no library has them for plain arrays: PPV and
NPV at another prevalence (Bayes' rule), the confusion cells as lists of items, and
subgroups read from what the data sources put in each item's ``meta``
(:mod:`medlearn.trust.subgroups`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from medlearn.errors import MedlearnInputError
from medlearn.metrics import auc, calibrate, calibration_error, decide, fit_temperature, rates
from medlearn.trust.subgroups import item_facts

REFERABLE_GRADE = 2
"""Ordinal grades: the default positive event is this grade or worse (referable diabetic
retinopathy: moderate NPDR or worse, what screening programmes refer)."""

CELLS = ("true positive", "false negative", "false positive", "true negative")
@dataclass(frozen=True)
class Event:
    """What counts as positive: the classes that make it (two classes: class 1)."""

    label: str
    classes: tuple[int, ...]

    def truth(self, labels) -> np.ndarray:
        return np.isin(np.asarray(labels, int), self.classes)

    def score(self, probs) -> np.ndarray:
        """p(event): the summed probability of its classes."""
        return np.asarray(probs, np.float64)[:, list(self.classes)].sum(1)


def events(class_names, ordinal: bool = False) -> list[Event]:
    """The positive events a student may choose; the default (:func:`default_event`) first
    matters: two classes give one event, ordinal grades ``grade >= k`` then one grade vs the rest."""
    k = len(class_names)
    if k == 2:
        return [Event(class_names[1], (1,))]
    out = (
        [Event(f"grade ≥ {g}: {class_names[g]} or worse", tuple(range(g, k))) for g in range(1, k)]
        if ordinal
        else []
    )
    return out + [Event(f"{name} vs the rest", (g,)) for g, name in enumerate(class_names)]


def default_event(options: list[Event], ordinal: bool = False) -> int:
    """Index of the default event: referable disease (grade >= 2) for ordinal grades, else the first."""
    if ordinal and len(options) > 2:
        return next(
            (i for i, e in enumerate(options) if e.classes[0] == REFERABLE_GRADE and len(e.classes) > 1), 0
        )
    return 0


@dataclass
class HeldOut:
    """A model's answers on held-out items, with the items and what they say about themselves.

    ``probs`` are as the model serves them (its card's temperature applied); ``dice`` holds
    each segmented image's or volume's Dice; ``facts`` each item's scalar ``meta``.
    """

    case: str
    class_names: tuple[str, ...]
    segmentation: bool
    labels: np.ndarray
    probs: np.ndarray
    dice: np.ndarray
    threshold: float | None
    temperature: float | None
    ids: list[str]
    groups: list[str]
    facts: list[dict]
    items: list
    evaluation: object

    @property
    def n(self) -> int:
        return len(self.ids)

    def decisions(self) -> np.ndarray:
        """The model's own class decisions: its stored threshold, else argmax."""
        return decide(self.probs, self.threshold)


def held_out(
    case: str, checkpoint, *, predictor=None, progress=None, limit: int | None = None, resamples: int = 500
) -> HeldOut:
    """The held-out answers of ``checkpoint``: its training run's validation split rebuilt from
    its plan (:func:`medlearn.evaluate.evaluate`, split ``"val"``), one Predictor call per item."""
    from medlearn.cases import get_case
    from medlearn.evaluate import evaluate
    from medlearn.predict import default_predictor

    study = get_case(case)
    result = evaluate(
        case,
        checkpoint=checkpoint,
        split="val",
        resamples=resamples,
        predictor=predictor,
        progress=progress,
        limit=limit,
    )
    card = (predictor or default_predictor()).load(checkpoint).card
    rows = [r for r in result.items if "error" not in r]
    names = tuple(study.task.class_names)
    seg = study.task.is_segmentation
    dice = np.array([np.nan if r.get("dice") is None else r["dice"] for r in rows]) if seg else np.empty(0)
    labels = np.empty(0, int) if seg else np.array([names.index(r["truth"]) for r in rows])
    probs = (
        np.empty((0, len(names))) if seg else np.array([[r["probabilities"][n] for n in names] for r in rows])
    )
    return HeldOut(
        study.key,
        names,
        seg,
        labels,
        probs,
        dice,
        None if seg else result.threshold,
        None if seg else card.temperature,
        [r["id"] for r in rows],
        [r["group"] for r in rows],
        [item_facts(s) for s in result.samples],
        list(result.samples),
        result,
    )


@dataclass(frozen=True)
class Curves:
    """ROC and precision-recall curves of one event (scikit-learn), with their areas."""

    fpr: np.ndarray
    tpr: np.ndarray
    roc_thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    pr_thresholds: np.ndarray
    auc: float
    average_precision: float
    prevalence: float


def curves(truth, score) -> Curves:
    """Sweep every threshold of ``score`` (p(event)) against ``truth`` (booleans)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    truth, score = _both_classes(truth), np.asarray(score, np.float64)
    fpr, tpr, thr = roc_curve(truth, score, drop_intermediate=False)
    precision, recall, pr_thr = precision_recall_curve(truth, score)
    return Curves(
        fpr,
        tpr,
        np.minimum(thr, 1.0),
        precision,
        recall,
        pr_thr,
        float(roc_auc_score(truth, score)),
        float(average_precision_score(truth, score)),
        float(truth.mean()),
    )


def auc_interval(truth, score, groups: list[str], resamples: int = 500, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the AUC, resampling whole patients (or items) as
    :func:`medlearn.evaluate.bootstrap` does for every other figure."""
    from medlearn.evaluate import bootstrap, group_rows

    truth, score = np.asarray(truth, int), np.asarray(score, np.float64)
    stat = {"auc": lambda r: auc(truth[r], np.stack([1 - score[r], score[r]], 1))}
    return bootstrap(group_rows(groups), stat, resamples, seed)["auc"]


@dataclass(frozen=True)
class Operating:
    """The confusion matrix and rates of decisions at one threshold (NaN where undefined)."""

    threshold: float | None
    tp: int
    fn: int
    fp: int
    tn: int
    sensitivity: float
    specificity: float
    ppv: float
    npv: float

    @property
    def n(self) -> int:
        return self.tp + self.fn + self.fp + self.tn


def operating(truth, decided, threshold: float | None = None) -> Operating:
    """Counts and rates of boolean decisions (``metrics.rates``); PPV and NPV as measured here."""
    truth, decided = np.asarray(truth, bool), np.asarray(decided, bool)
    tp, fn = int((truth & decided).sum()), int((truth & ~decided).sum())
    fp, tn = int((~truth & decided).sum()), int((~truth & ~decided).sum())
    r = rates(truth, decided)
    return Operating(
        threshold,
        tp,
        fn,
        fp,
        tn,
        r["sensitivity"],
        r["specificity"],
        _ratio(tp, tp + fp),
        _ratio(tn, tn + fn),
    )


def at_threshold(truth, score, threshold: float) -> Operating:
    """Decide "positive" where p(event) >= ``threshold`` (``metrics.decide``) and count."""
    score = np.asarray(score, np.float64)
    return operating(truth, decide(np.stack([1 - score, score], 1), float(threshold)) == 1, float(threshold))


def predictive_values(sensitivity: float, specificity: float, prevalence: float) -> tuple[float, float]:
    """PPV and NPV of a test with this sensitivity and specificity where ``prevalence`` of the
    people tested have the disease (Bayes' rule): a rare disease makes most positives false."""
    if not 0.0 <= prevalence <= 1.0:
        raise MedlearnInputError(f"Prevalence must lie between 0 and 1, got {prevalence}.")
    sens, spec, p = float(sensitivity), float(specificity), float(prevalence)
    return (
        _ratio(sens * p, sens * p + (1 - spec) * (1 - p)),
        _ratio(spec * (1 - p), spec * (1 - p) + (1 - sens) * p),
    )


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram: per non-empty confidence bin, the mean confidence (top
    probability), how often the answer was right and how many answers fell there; the ECE."""

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray
    ece: float


def reliability(labels, probs, bins: int = 10) -> Reliability:
    """Equal-width bins of the top probability (scikit-learn's ``calibration_curve`` on
    "was the answer right"); the ECE is ``metrics.calibration_error`` on the same bins."""
    from sklearn.calibration import calibration_curve

    labels, probs = np.asarray(labels, int), np.asarray(probs, np.float64)
    if len(labels) == 0:
        raise MedlearnInputError("A reliability diagram needs at least one answer.")
    confidence, correct = probs.max(1), (probs.argmax(1) == labels).astype(int)
    accuracy, mean_conf = calibration_curve(correct, confidence, n_bins=bins, strategy="uniform")
    which = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], confidence)  # sklearn's binning
    count = np.bincount(which, minlength=bins)
    return Reliability(mean_conf, accuracy, count[count > 0], calibration_error(labels, probs, bins))


def temperature_effect(labels, probs, temperature: float | None, bins: int = 10):
    """``(before, after, T, fitted_here)``: reliability without and with temperature scaling.
    ``probs`` are served probabilities (``T`` already applied: undone by ``calibrate(p, 1 / T)``).
    A model without a stored ``T`` gets one fitted on these answers (``fitted_here``: optimistic)."""
    probs = np.asarray(probs, np.float64)
    if temperature:
        return (
            reliability(labels, calibrate(probs, 1.0 / temperature), bins),
            reliability(labels, probs, bins),
            float(temperature),
            False,
        )
    t = fit_temperature(labels, probs)
    return reliability(labels, probs, bins), reliability(labels, calibrate(probs, t), bins), t, True


def cells(truth, decided, score) -> dict[str, np.ndarray]:
    """Item indices of each confusion cell, the most confident first (a false positive with
    p = 0.98 teaches more than one at 0.51)."""
    truth, decided, score = np.asarray(truth, bool), np.asarray(decided, bool), np.asarray(score, np.float64)
    out = {}
    for name, t, d in zip(CELLS, (True, True, False, False), (True, False, True, False)):
        idx = np.flatnonzero((truth == t) & (decided == d))
        out[name] = idx[np.argsort(-score[idx] if d else score[idx], kind="stable")]
    return out


def worst(values, n: int = 6) -> np.ndarray:
    """Indices of the ``n`` lowest finite ``values`` (e.g. per-image Dice), lowest first."""
    values = np.asarray(values, np.float64)
    idx = np.flatnonzero(np.isfinite(values))
    return idx[np.argsort(values[idx], kind="stable")][: max(0, int(n))]


def _both_classes(truth) -> np.ndarray:
    truth = np.asarray(truth, bool)
    if truth.all() or not truth.any():
        raise MedlearnInputError(
            "These held-out items hold only one outcome; curves need positives and negatives."
        )
    return truth


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else math.nan
