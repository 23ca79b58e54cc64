"""Transfer learning as the review teaches it: one network, one patient split, three starts.

The review (Cai et al. 2020) fine-tunes networks pre-trained on natural images because
labelled medical images are few. MedLearn lets a student test that claim: the same
architecture, trained on the same split with the same recipe, from

* **scratch** (random initialisation),
* **ImageNet** (torchvision's published weights, when they are on this machine), and
* **MedLearn-pretrained** (``init="phantoms"``: sim-to-real, the case's phantoms first; or
  ``"medlearn:<checkpoint>"``: the same network trained on another MedLearn case).

Every run trains through the ordinary recipe (the job manager, ``train_recipe``) with only
``init`` changed; :func:`transfer_starts` says which starts this machine can honour and why
not, and :func:`paired_differences` compares finished runs on the patients they share: the
same bootstrap draws of patients for both runs (``medlearn.evaluate.bootstrap``), so the luck
of the split cancels out of the difference. The rest (figures with intervals) is
``medlearn.evaluate``'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from medlearn.errors import MedlearnInputError

SCRATCH, IMAGENET, MEDLEARN = "scratch", "imagenet", "medlearn"


@dataclass(frozen=True)
class Start:
    """One starting point of the comparison.

    Attributes:
        key: ``"scratch"``, ``"imagenet"`` or ``"medlearn"``.
        init: the plan's ``init`` (``"phantoms"``, ``"medlearn:<path>"``...), or "" when unavailable.
        title: words for people (``"ImageNet (torchvision)"``).
        available: whether this machine can train it now.
        reason: what it is when available; why it is off when not, in plain words.
    """

    key: str
    init: str
    title: str
    available: bool
    reason: str


def transfer_starts(case, arch: str, source: str, medlearn_init: str | None = None) -> list[Start]:
    """The three starts for ``arch`` on ``source`` (scratch always first).

    ``medlearn_init``: the MedLearn-pretrained start (``"phantoms"`` or ``"medlearn:<path>"``);
    None picks sim-to-real (``"phantoms"``) on real data, and nothing on phantoms themselves
    (pre-training on the data one then trains on teaches nothing new).
    """
    from medlearn.models import get_spec
    from medlearn.models.pretrained import imagenet_unavailable_reason
    from medlearn.train.plan import check_init

    if arch == "classic":
        raise MedlearnInputError("The classical baseline fits hand-crafted features in one step; it has no "
                                 "starting weights to compare. Pick a network.")
    spec = get_spec(arch)
    starts = [Start(SCRATCH, "scratch", "from scratch", True, "random initialisation")]
    why_not = imagenet_unavailable_reason(arch)
    starts.append(Start(IMAGENET, "imagenet" if why_not is None else "", "ImageNet (torchvision)", why_not is None,
                        why_not or f"{spec.title}'s published ImageNet-1K weights from the torch cache"))
    if medlearn_init is None and source == "phantoms":
        starts.append(Start(MEDLEARN, "", "MedLearn-pretrained", False,
                            "this race trains on phantoms; pre-training on phantoms is for fine-tuning on real "
                            "data (pick a real source), or pick another case's run of the same network"))
        return starts
    init = check_init(medlearn_init or "phantoms", arch)
    if init == "phantoms" and source == "phantoms":
        raise MedlearnInputError("Pre-training on phantoms is for fine-tuning on real data; pick a real source.")
    what = (f"pre-trained on {case.title}'s phantoms, then fine-tuned (sim-to-real)" if init == "phantoms"
            else f"warm start from another MedLearn run ({os.path.basename(init[len('medlearn:'):])})")
    starts.append(Start(MEDLEARN, init, "MedLearn-pretrained", True, what))
    return starts


def transfer_variants(starts: Sequence[Start]) -> list[dict]:
    """The race variants (``{"init": ...}``) of the available non-scratch starts, in order."""
    return [{"init": s.init} for s in starts if s.available and s.key != SCRATCH]


def comparison_width(arch: str, starts: Sequence[Start], recipe_width: int) -> int:
    """The width every start trains at: an ImageNet start fixes the published channel counts,
    so the other starts take them too (the same network three ways, not three networks)."""
    from medlearn.models.pretrained import PUBLISHED_WIDTH

    return PUBLISHED_WIDTH if any(s.key == IMAGENET and s.available for s in starts) else int(recipe_width)


def paired_differences(reference, other, metrics: Sequence[str], resamples: int = 1000,
                       seed: int = 0) -> dict:
    """``other - reference`` for each of ``metrics`` on the items both evaluations scored, with a
    95 % percentile bootstrap interval whose every draw resamples the same patients for both.

    Args:
        reference, other: :class:`medlearn.evaluate.Evaluation` of two runs of one case on the
            same items (the same split: their ``items`` carry the same ids).
        metrics: ``"auc"``, ``"accuracy"`` (argmax), ``"kappa"`` (at the decisions) for a
            classifier; ``"dice"``, ``"iou"`` (mean per item) for a segmenter.

    Returns:
        ``{metric: Figure}`` (``medlearn.evaluate.Figure``, ``n`` = items compared); metrics the
        task lacks are left out.

    Raises:
        MedlearnInputError: the runs share no items (different splits or data).
    """
    from medlearn.cases import get_case
    from medlearn.evaluate import Figure, bootstrap, group_rows
    from medlearn.metrics import accuracy, auc, kappa

    if reference.case != other.case:
        raise MedlearnInputError(f"A {reference.case} run and a {other.case} run cannot be compared item by item.")
    study = get_case(reference.case)
    mine = {r["id"]: r for r in reference.items if "error" not in r}
    theirs = {r["id"]: r for r in other.items if "error" not in r}
    ids = [i for i in mine if i in theirs]
    if not ids:
        raise MedlearnInputError("These runs were scored on different items (another split or other data): "
                                 "train them with the same data, seed and sizes to compare them.")
    groups = group_rows([mine[i]["group"] for i in ids])
    stats = {}
    if study.task.is_segmentation:
        for m in ("dice", "iou"):
            a, b = (np.array([np.nan if d[i].get(m) is None else d[i][m] for i in ids], float) for d in (mine, theirs))
            stats[m] = lambda r, a=a, b=b: float(np.nanmean(b[r]) - np.nanmean(a[r]))
    else:
        names = list(study.task.class_names)
        y = np.array([names.index(mine[i]["truth"]) for i in ids])
        probs = [np.array([[d[i]["probabilities"][n] for n in names] for i in ids]) for d in (mine, theirs)]
        decided = [np.array([names.index(d[i]["prediction"]) for i in ids]) for d in (mine, theirs)]
        stats["auc"] = lambda r: auc(y[r], probs[1][r]) - auc(y[r], probs[0][r])
        stats["accuracy"] = lambda r: (accuracy(y[r], probs[1][r].argmax(1))
                                       - accuracy(y[r], probs[0][r].argmax(1)))
        if study.task.ordinal:
            stats["kappa"] = lambda r: kappa(y[r], decided[1][r]) - kappa(y[r], decided[0][r])
    chosen = {m: stats[m] for m in metrics if m in stats}
    intervals = bootstrap(groups, chosen, resamples, seed)
    every = np.arange(len(ids))
    labels = {"auc": "AUC", "accuracy": "accuracy (argmax)", "kappa": "quadratic kappa", "dice": "Dice",
              "iou": "IoU"}
    return {m: Figure(m, f"{labels[m]} difference", float(fn(every)), *intervals[m], n=len(ids))
            for m, fn in chosen.items()}


def compare_checkpoints(case: str, checkpoints: Mapping[str, str | os.PathLike], metrics: Sequence[str],
                        data: str | None = None, split: str = "val", resamples: int = 1000, seed: int = 0,
                        predictor=None) -> tuple[dict, dict]:
    """Score each checkpoint (``{start key: path}``, scratch among them) on the same items and
    compare every other start with scratch.

    Returns:
        ``(evaluations, differences)``: ``{start: Evaluation}`` (figures with intervals) and
        ``{start: {metric: Figure}}`` for each start but scratch (:func:`paired_differences`).

    Raises:
        MedlearnInputError: no scratch run among them, or runs on different splits.
    """
    from medlearn.evaluate import evaluate

    if SCRATCH not in checkpoints:
        raise MedlearnInputError("A comparison of starting weights needs the run from scratch as its reference.")
    evaluations = {key: evaluate(case, data, checkpoint=path, split=split, resamples=resamples, seed=seed,
                                 predictor=predictor) for key, path in checkpoints.items()}
    reference = evaluations[SCRATCH]
    differences = {key: paired_differences(reference, ev, metrics, resamples, seed)
                   for key, ev in evaluations.items() if key != SCRATCH}
    return evaluations, differences
