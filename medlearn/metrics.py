"""Metrics for the six case studies: classification and segmentation scores, and losses.

Classification scores come from scikit-learn (accuracy, ROC AUC one-vs-rest, confusion
matrix, quadratic-weighted Cohen's kappa for ordinal grades); segmentation overlap and
boundary scores come from MONAI (Dice, IoU, 95th-percentile Hausdorff distance), per
foreground class and averaged. Nothing here imports Streamlit.

Conventions:
    * ``probs``: ``(N, K)`` class probabilities (softmax of the logits).
    * ``labels``: ``(N,)`` integer classes.
    * label maps: ``(N, *spatial)`` integer arrays whose values index the class names
      (0 = background), for 2D ``(N, H, W)`` or 3D ``(N, Z, Y, X)``.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
import torch
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, roc_auc_score, roc_curve

from medlearn.errors import MedlearnInputError

# MONAI is imported inside the segmentation functions: it is slow to import, and worker
# processes that only classify should not pay for it.

# Metrics where a smaller value is better (used by early stopping and best-run queries).
LOWER_IS_BETTER = frozenset({"loss", "train_loss", "val_loss", "hd95"})


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def accuracy(labels, predictions) -> float:
    """Fraction of correct predictions; ``labels`` and ``predictions`` are ``(N,)`` classes."""
    labels, predictions = _np(labels), _np(predictions)
    if labels.size == 0:
        raise MedlearnInputError("Accuracy needs at least one example.")
    return float(accuracy_score(labels, predictions))


def auc(labels, probs) -> float:
    """ROC AUC: binary on ``probs[:, 1]``, multiclass one-vs-rest (macro).

    Returns NaN when only one class is present (the AUC is then undefined).
    """
    labels, probs = _np(labels).astype(int), _np(probs).astype(np.float64)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise MedlearnInputError(f"AUC needs (N, K) probabilities for N labels, got {probs.shape}.")
    present = np.unique(labels)
    if len(present) < 2:
        return math.nan
    if probs.shape[1] == 2:
        return float(roc_auc_score(labels, probs[:, 1]))
    # one-vs-rest macro average over the classes that occur (sklearn's "ovr" when all do)
    return float(np.mean([roc_auc_score(labels == k, probs[:, k]) for k in present]))


def confusion(labels, predictions, num_classes: int) -> list[list[int]]:
    """``(K, K)`` confusion matrix as nested lists: rows true class, columns predicted."""
    return confusion_matrix(_np(labels), _np(predictions), labels=list(range(num_classes))).tolist()


def kappa(labels, predictions) -> float:
    """Quadratic-weighted Cohen's kappa for ordinal grades (1 = perfect, 0 = chance)."""
    labels, predictions = _np(labels), _np(predictions)
    if len(np.unique(np.concatenate([labels, predictions]))) < 2:
        return 1.0 if np.array_equal(labels, predictions) else 0.0
    return float(cohen_kappa_score(labels, predictions, weights="quadratic"))


def roc_points(labels, probs, positive: int = 1) -> dict[str, list[float]]:
    """ROC curve of one class against the rest: ``{"fpr", "tpr", "thresholds"}`` for plotting."""
    labels, probs = _np(labels).astype(int), _np(probs)
    fpr, tpr, thr = roc_curve(labels == positive, probs[:, positive])
    thr = np.where(np.isfinite(thr), thr, 1.0)
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr.tolist()}


def operating_threshold(labels, p_positive) -> float | None:
    """The decision threshold on p(class 1) of a two-class model that maximises Youden's J
    (sensitivity + specificity - 1) on these labels; None when one class is missing.

    A model trained on imbalanced data can rank cases well (high AUC) and still never
    reach 0.5 for the minority class: deciding at this threshold, chosen on validation
    data, keeps both classes in play (the threshold is then optimistic for that set)."""
    labels, p = _np(labels).astype(int), _np(p_positive).astype(np.float64)
    if len(np.unique(labels)) < 2:
        return None
    fpr, tpr, thresholds = roc_curve(labels, p, drop_intermediate=False)
    best = int(np.argmax(tpr - fpr))
    # halfway to the next lower score: the same decisions on these data, and not flipped by
    # the last-digit differences between a batched and a single forward pass
    below = thresholds[best + 1] if best + 1 < len(thresholds) else 0.0
    return float(min(max((min(thresholds[best], 1.0) + below) / 2, 0.0), 1.0))


TEMPERATURE_RANGE = (0.25, 10.0)  # a tiny validation set must not fit an absurd temperature


def calibrate(probs, temperature: float | None) -> np.ndarray:
    """``(N, K)`` probabilities rescaled by temperature ``T``: ``softmax(log p / T)``, which is
    ``softmax(logits / T)`` (a per-row constant cancels). ``T`` > 1 softens over-confident
    answers; ranks, argmax and AUC do not change. ``None`` or 1: unchanged. The one place
    the predictor and the validation scores apply a model's temperature."""
    probs = _np(probs).astype(np.float64)
    if temperature is None or temperature == 1.0:
        return probs
    z = np.log(np.clip(probs, 1e-12, 1.0)) / float(temperature)
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def fit_temperature(labels, probs) -> float:
    """Temperature scaling (Guo et al., ICML 2017): the one ``T`` that minimises the negative
    log-likelihood of ``calibrate(probs, T)`` on these (validation) labels, searched on log T
    within :data:`TEMPERATURE_RANGE` (scipy's bounded scalar minimiser; no library ships it
    for a plain array of probabilities)."""
    from scipy.optimize import minimize_scalar

    labels, probs = _np(labels).astype(int), _np(probs).astype(np.float64)

    def nll(log_t: float) -> float:
        p = calibrate(probs, float(np.exp(log_t)))[np.arange(len(labels)), labels]
        return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())

    low, high = np.log(TEMPERATURE_RANGE)
    best = minimize_scalar(nll, bounds=(low, high), method="bounded", options={"xatol": 1e-3})
    t = float(np.exp(best.x))
    return t if nll(np.log(t)) < nll(0.0) else 1.0


def calibration_error(labels, probs, bins: int = 10) -> float:
    """Expected calibration error: the mean gap between confidence (top probability) and
    accuracy over equal-width confidence bins, weighted by the share of answers in each."""
    labels, probs = _np(labels).astype(int), _np(probs).astype(np.float64)
    confidence, predicted = probs.max(1), probs.argmax(1)
    correct = (predicted == labels).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(gap)


def decide(probs, threshold: float | None = None) -> np.ndarray:
    """Class decisions ``(N,)`` from ``(N, K)`` probabilities: argmax, or for two classes with
    a threshold, class 1 where p(class 1) >= threshold. The one decision rule."""
    probs = _np(probs)
    if threshold is None or probs.shape[1] != 2:
        return probs.argmax(1)
    return (probs[:, 1] >= threshold).astype(int)


def rates(labels, predictions) -> dict[str, float]:
    """Sensitivity, specificity and balanced accuracy of two-class decisions (NaN where a
    class is absent)."""
    labels, predictions = _np(labels).astype(int), _np(predictions).astype(int)
    pos, neg = labels == 1, labels == 0
    sens = float((predictions[pos] == 1).mean()) if pos.any() else float("nan")
    spec = float((predictions[neg] == 0).mean()) if neg.any() else float("nan")
    return {"sensitivity": sens, "specificity": spec, "balanced_accuracy": (sens + spec) / 2}


def classification_metrics(labels, probs, ordinal: bool = False, calibrated: bool = False) -> dict:
    """Accuracy, AUC, confusion matrix (and kappa for ordinal grades) from ``(N, K)`` probs.

    Two classes: also the operating ``threshold`` (:func:`operating_threshold`) and the
    sensitivity, specificity and balanced accuracy of decisions at it; ``accuracy`` and
    ``confusion`` stay at argmax (p >= 0.5) so races compare like with like.

    ``calibrated``: also fit a ``temperature`` (:func:`fit_temperature`) on these labels and
    report the calibration error before (``ece_raw``) and after (``ece``); the threshold is
    then chosen on the calibrated probabilities, as the predictor will see them."""
    labels, probs = _np(labels).astype(int), _np(probs)
    out_t = {}
    if calibrated and len(labels) >= 2:
        temperature = fit_temperature(labels, probs)
        out_t = {"temperature": temperature, "ece_raw": calibration_error(labels, probs)}
        probs = calibrate(probs, temperature)
        out_t["ece"] = calibration_error(labels, probs)
    predictions = probs.argmax(1)
    out = {
        "accuracy": accuracy(labels, predictions),
        "auc": auc(labels, probs),
        "confusion": confusion(labels, predictions, probs.shape[1]),
    }
    if ordinal:
        out["kappa"] = kappa(labels, predictions)
    if probs.shape[1] == 2:
        threshold = operating_threshold(labels, probs[:, 1])
        out["threshold"] = threshold
        out.update(rates(labels, decide(probs, threshold)))
    return {**out, **out_t}


def _one_hot(label_map, num_classes: int) -> torch.Tensor:
    t = torch.as_tensor(_np(label_map)).long()
    if t.min() < 0 or t.max() >= num_classes:
        raise MedlearnInputError(
            f"Label values must lie in 0..{num_classes - 1}, got {int(t.min())}..{int(t.max())}.")
    return torch.nn.functional.one_hot(t, num_classes).movedim(-1, 1).float()


def _overlap(fn, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(N, K-1)`` scores; NaN where a class is absent from both prediction and truth."""
    scores = fn(pred, target, include_background=False, ignore_empty=False)
    both_empty = (pred[:, 1:].flatten(2).sum(-1) == 0) & (target[:, 1:].flatten(2).sum(-1) == 0)
    return torch.where(both_empty, torch.nan, scores)


def _hd95(pred: torch.Tensor, target: torch.Tensor, spacing: Sequence[float] | None) -> torch.Tensor:
    """``(N, K-1)`` HD95 in mm; one mask empty -> the image diagonal (worst case); both -> NaN."""
    spatial = pred.shape[2:]
    sp = np.ones(len(spatial)) if spacing is None else np.asarray(spacing, float)
    diagonal = float(np.sqrt(((np.asarray(spatial) * sp) ** 2).sum()))
    p_has, t_has = pred[:, 1:].flatten(2).sum(-1) > 0, target[:, 1:].flatten(2).sum(-1) > 0
    out = torch.full(p_has.shape, diagonal)
    out[~p_has & ~t_has] = torch.nan
    both = p_has & t_has
    if both.any():
        from monai.metrics import compute_hausdorff_distance

        with warnings.catch_warnings():  # MONAI warns about the empty masks we already handled
            warnings.simplefilter("ignore")
            hd = compute_hausdorff_distance(pred, target, include_background=False, percentile=95,
                                            spacing=None if spacing is None else list(sp))
        out[both] = hd.float()[both]
    return out


def _summary(name: str, scores: torch.Tensor, class_names: Sequence[str] | None) -> dict:
    per_class = torch.nanmean(scores, dim=0).tolist() if scores.numel() else []
    names = list(class_names[1:]) if class_names else [str(k) for k in range(1, scores.shape[1] + 1)]
    finite = [v for v in per_class if not math.isnan(v)]
    return {name: float(np.mean(finite)) if finite else math.nan,
            f"{name}_per_class": dict(zip(names, per_class))}


UNLABELLED = 255
"""A target value for pixels whose class the experts did not say: background or one of the
classes they left undrawn in that image (partial labels: a Sunnybrook end-systolic frame
has an endocardial contour but no epicardial one, so its myocardium is not marked).
Such pixels never teach "background"; classes undrawn in an image are not scored there."""


def scoring_truth(mask: np.ndarray, undrawn: Sequence[int]) -> np.ndarray:
    """A ground-truth mask as it is trained on and scored: when the experts left classes
    undrawn on it (``undrawn``, :func:`medlearn.data.sources.base.undrawn_classes`), its
    background pixels become :data:`UNLABELLED`, since they may hide those classes."""
    m = np.asarray(mask)
    return np.where(m == 0, UNLABELLED, m) if len(undrawn) else m


def unlabelled_classes(target: np.ndarray | torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(N, K)`` booleans: class ``c`` of item ``n`` could hide in its unlabelled pixels
    (the item has :data:`UNLABELLED` pixels and ``c`` is background or absent from its labels)."""
    t = torch.as_tensor(_np(target)).long().flatten(1)
    unknown = (t == UNLABELLED).any(1)
    present = torch.stack([(t == c).any(1) for c in range(num_classes)], 1)
    hidden = ~present
    hidden[:, 0] = True
    return hidden & unknown[:, None]


def segmentation_metrics(pred, target, num_classes: int, spacing: Sequence[float] | None = None,
                         class_names: Sequence[str] | None = None, hd95: bool = True) -> dict:
    """Dice, IoU and HD95 per foreground class and their mean (MONAI).

    Args:
        pred: ``(N, *spatial)`` predicted label maps.
        target: same shape, the ground truth.
        num_classes: classes including background.
        spacing: voxel size in mm per spatial axis (HD95 in mm; pixels when None).
        class_names: names for the per-class dictionaries (background first).
        hd95: also compute the (slower) 95% Hausdorff distance.

    Returns:
        ``{"dice", "dice_per_class", "iou", "iou_per_class"[, "hd95", "hd95_per_class"]}``;
        images where a class is absent from both masks do not count for that class, nor do
        classes an image leaves unlabelled (:data:`UNLABELLED` pixels, partial labels).
    """
    pred_a, target_a = _np(pred), _np(target)
    if pred_a.shape != target_a.shape:
        raise MedlearnInputError(f"Prediction {pred_a.shape} and truth {target_a.shape} differ in shape.")
    from monai.metrics import compute_dice, compute_iou

    skip = unlabelled_classes(target_a, num_classes)[:, 1:] if (target_a == UNLABELLED).any() else None
    if skip is not None:
        target_a = np.where(target_a == UNLABELLED, 0, target_a)  # known not to be a labelled class
    p, t = _one_hot(pred_a, num_classes), _one_hot(target_a, num_classes)

    def scored(scores: torch.Tensor) -> torch.Tensor:
        return scores if skip is None else torch.where(skip, torch.nan, scores)

    out = {**_summary("dice", scored(_overlap(compute_dice, p, t)), class_names),
           **_summary("iou", scored(_overlap(compute_iou, p, t)), class_names)}
    if hd95:
        out.update(_summary("hd95", scored(_hd95(p, t, spacing)), class_names))
    return out


FOV_FIGURES = ("sensitivity", "specificity", "accuracy", "auc", "dice")


def fov_scores(truth, probability, fov, predicted=None) -> dict[str, float]:
    """A two-class segmentation of one photograph scored inside its field of view, as the
    retinal vessel literature reports it (DRIVE, CHASE_DB1): pixels outside the camera's
    disc are easy background and would inflate specificity and accuracy.

    Args:
        truth: ``(H, W)`` expert mask, nonzero = the structure (vessel, lesion).
        probability: ``(H, W)`` the model's probability of the structure.
        fov: ``(H, W)`` booleans, the field of view (:func:`medlearn.data.fov.fov_mask`).
        predicted: ``(H, W)`` the model's decisions (its mask, nonzero = the structure);
            default ``probability >= 0.5``, the argmax of two classes.

    Returns:
        ``sensitivity``, ``specificity``, ``accuracy`` and ``dice`` of the decisions, ``auc``
        of the probabilities (scikit-learn; NaN where undefined, e.g. no structure in the
        field), and ``fov_pixels``.

    Raises:
        MedlearnInputError: shapes differ, or the field of view is empty.
    """
    t, p, f = _np(truth), _np(probability).astype(np.float64), _np(fov).astype(bool)
    d = p >= 0.5 if predicted is None else _np(predicted) != 0
    if not (t.shape == p.shape == f.shape == d.shape):
        raise MedlearnInputError(f"Truth {t.shape}, probabilities {p.shape}, decisions {d.shape} and field of "
                                 f"view {f.shape} must have one shape.")
    if not f.any():
        raise MedlearnInputError("The field of view is empty: there are no pixels to score.")
    y, score = (t[f] != 0).astype(int), p[f]
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, d[f].astype(int), labels=[0, 1]).ravel())
    ratio = lambda a, b: a / b if b else math.nan  # noqa: E731
    both = len(np.unique(y)) == 2
    return {"sensitivity": ratio(tp, tp + fn), "specificity": ratio(tn, tn + fp),
            "accuracy": (tp + tn) / y.size, "auc": float(roc_auc_score(y, score)) if both else math.nan,
            "dice": ratio(2 * tp, 2 * tp + fp + fn), "fov_pixels": int(y.size)}


PR_BINS = 1000  # probability bins of pr_counts: precision-recall points 0.001 apart


def pr_counts(truth, probability, fov) -> np.ndarray:
    """Pixels inside the field of view counted per probability bin, structure and background
    apart: ``(2, PR_BINS)`` int64 (row 1: structure). Counts of several photographs add up, so
    :func:`aupr` of their sum is the pooled precision-recall area of all their pixels (what a
    bootstrap over photographs resamples cheaply).

    Raises:
        MedlearnInputError: shapes differ, or the field of view is empty.
    """
    t, p, f = _np(truth) != 0, _np(probability).astype(np.float64), _np(fov).astype(bool)
    if not (t.shape == p.shape == f.shape):
        raise MedlearnInputError(f"Truth {t.shape}, probabilities {p.shape} and field of view {f.shape} must have "
                                 "one shape.")
    if not f.any():
        raise MedlearnInputError("The field of view is empty: there are no pixels to score.")
    bins = np.clip((p[f] * PR_BINS).astype(np.int64), 0, PR_BINS - 1)
    return np.stack([np.bincount(bins[~t[f]], minlength=PR_BINS), np.bincount(bins[t[f]], minlength=PR_BINS)])


def aupr(counts: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision, scikit-learn, the IDRiD challenge's
    lesion figure) of :func:`pr_counts` (one photograph's, or several summed); NaN without any
    structure pixel. For tiny structures (exudates: under 1 % of a photograph) it says more than
    the ROC AUC, which the sea of easy background pushes towards 1."""
    from sklearn.metrics import average_precision_score

    counts = np.asarray(counts, np.int64)
    if counts.shape != (2, PR_BINS) or (counts < 0).any():
        raise MedlearnInputError(f"aupr needs (2, {PR_BINS}) non-negative counts from pr_counts, got {counts.shape}.")
    if counts[1].sum() == 0:
        return math.nan
    centres = (np.arange(PR_BINS) + 0.5) / PR_BINS
    keep = counts > 0
    labels = np.concatenate([np.zeros(keep[0].sum()), np.ones(keep[1].sum())])
    scores = np.concatenate([centres[keep[0]], centres[keep[1]]])
    return float(average_precision_score(labels, scores, sample_weight=np.concatenate([counts[0][keep[0]],
                                                                                       counts[1][keep[1]]])))


def segmentation_loss() -> torch.nn.Module:
    """Dice + cross-entropy on logits ``(B, K, *spatial)`` against labels ``(B, 1, *spatial)``:
    MONAI's ``DiceCELoss``, and :class:`PartialLabelLoss` for batches with unlabelled pixels."""
    return PartialLabelLoss()


class PartialLabelLoss(torch.nn.Module):
    """MONAI ``DiceCELoss(to_onehot_y=True, softmax=True)``, unchanged for fully labelled
    batches; a batch with :data:`UNLABELLED` pixels gets the same two terms with partial labels:

    * cross-entropy of an unlabelled pixel: ``-log`` of the summed probability of the classes
      it may hold (background and the classes its image leaves undrawn);
    * soft Dice per image and class, leaving out the classes an image leaves unlabelled.

    Written here because MONAI's losses take no partial labels (no ignore index, no merged
    classes); the shape follows MONAI's: Dice (include_background, per image) + mean CE.
    """

    def __init__(self, smooth: float = 1e-5):
        super().__init__()
        from monai.losses import DiceCELoss

        self.full = DiceCELoss(to_onehot_y=True, softmax=True, smooth_nr=smooth, smooth_dr=smooth)
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = target[:, 0].long()
        unknown = t == UNLABELLED
        if not bool(unknown.any()):
            return self.full(logits, target)
        k = logits.shape[1]
        hidden = unlabelled_classes(t.cpu(), k).to(logits.device)  # (B, K)
        logp = torch.log_softmax(logits, 1)
        known = torch.where(unknown, torch.zeros_like(t), t)
        ce_known = -logp.gather(1, known[:, None])[:, 0]
        shape = hidden.shape + (1,) * (logits.ndim - 2)
        ce_hidden = -torch.logsumexp(logp.masked_fill(~hidden.view(shape), float("-inf")), 1)
        ce = torch.where(unknown, ce_hidden, ce_known).mean()
        probs = logp.exp()
        onehot = torch.nn.functional.one_hot(known, k).movedim(-1, 1).float() * (~unknown[:, None]).float()
        dims = tuple(range(2, logits.ndim))
        inter, total = (probs * onehot).sum(dims), (probs + onehot).sum(dims)
        dice = 1 - (2 * inter + self.smooth) / (total + self.smooth)
        keep = (~hidden).float()
        return (dice * keep).sum() / keep.sum().clamp_min(1) + ce


def classification_loss() -> torch.nn.Module:
    """Cross-entropy on logits ``(B, K)`` against class indices ``(B,)``."""
    return torch.nn.CrossEntropyLoss()


def is_better(metric: str, new: float, old: float | None) -> bool:
    """Whether ``new`` improves on ``old`` for this metric (NaN never improves)."""
    if new is None or (isinstance(new, float) and math.isnan(new)):
        return False
    if old is None or (isinstance(old, float) and math.isnan(old)):
        return True
    return new < old if metric in LOWER_IS_BETTER else new > old
