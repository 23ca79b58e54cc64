"""Sanity check for saliency maps (Adebayo et al., NeurIPS 2018): cascading randomisation.

A map that explains a model must change when the model's learned weights are destroyed.
The layers of a private copy of the served network are re-initialised from the output
(head) down, group by group, and the CAM is recomputed after each group; each map is
compared with the trained model's map by Spearman rank correlation and SSIM on the
absolute maps, as the paper did. A map that barely changes reflects the image (edges,
bright regions), not what the model learned.

The cascade itself is MedLearn's own (no well-kept library offers it for any network);
the layers are re-initialised by torch's own ``reset_parameters``, the maps come from
:func:`medlearn.explain.compute_cam`, the scores from SciPy and scikit-image.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity
from torch import nn

from medlearn.cases import CaseStudy, get_case
from medlearn.errors import MedlearnInputError
from medlearn.explain import PredictedMaskTarget, compute_cam, model_lock
from medlearn.metrics import calibrate, decide
from medlearn.predict import LoadedModel, Prepared, map_back, check_model, default_predictor, prepare

PASS_BELOW = 0.3  # rank correlation at full randomisation: a teaching rule of thumb, not the paper's
FAIL_FROM = 0.6


@dataclass
class Subject:
    """The model under test on one image: a private copy of the served network (the cached
    one is never touched), the input prepared as Predict prepares it, the explained class and,
    for a segmenter, that class's predicted region ``(*s)`` in model space (else None)."""

    case: CaseStudy
    loaded: LoadedModel
    model: nn.Module
    prep: Prepared
    target: int
    region: torch.Tensor | None

    @property
    def task(self) -> str:
        return self.case.task.kind

    def cam(self, model: nn.Module, method: str, x: torch.Tensor | None = None) -> np.ndarray:
        """CAM maps ``(B, *s)`` in [0, 1] of ``model`` for the explained class."""
        x = self.prep.x if x is None else x
        return compute_cam(model, x, method=method, task=self.task, class_index=self.target,
                           arch=self.loaded.meta.get("name")).maps

    def to_image(self, maps: np.ndarray) -> np.ndarray:
        """Model-space maps ``(B, *s)`` -> a [0, 1] map of the image's spatial shape."""
        return map_back(maps, self.prep, None)


def load_subject(case: CaseStudy | str, image, checkpoint: str, predictor=None) -> Subject:
    """Load ``checkpoint`` (through the shared model cache), copy its network, prepare ``image``
    and decide what to explain: the class Predict would answer (the card's temperature and
    operating threshold) or, for a segmenter, its largest predicted foreground class.

    Raises:
        MedlearnInputError: not a network (the classical baseline has no CAM), wrong case, bad image.
    """
    case = get_case(case) if isinstance(case, str) else case
    loaded = (predictor or default_predictor()).load(checkpoint)
    check_model(loaded, case)
    if not loaded.is_network:
        raise MedlearnInputError("The classical baseline has no class activation map to test; "
                                 "pick a network.")
    prep = prepare(image, loaded.card, loaded.device, case.title)
    with model_lock(loaded.model):  # a concurrent CAM's hooks must not be copied along
        model = copy.deepcopy(loaded.model).eval().requires_grad_(False)
    with torch.no_grad():
        logits = model(prep.x).float().cpu()
    if case.task.is_segmentation:
        out = logits.transpose(0, 1) if prep.layout == "slices" else logits[0]  # (K, *s)
        chosen = PredictedMaskTarget()
        chosen(out)
        return Subject(case, loaded, model, prep, int(chosen.category), chosen.mask.bool())
    probs = calibrate(torch.softmax(logits, 1).numpy(), loaded.card.temperature)
    return Subject(case, loaded, model, prep, int(decide(probs, loaded.card.threshold)[0]), None)


def weighted_layers(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the layers that hold weights, in the order one forward pass runs them."""
    order: dict[str, None] = {}
    hooks = [m.register_forward_hook(lambda *_, n=name: order.setdefault(n))
             for name, m in model.named_modules() if next(m.parameters(recurse=False), None) is not None]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return list(order)


def layer_groups(names: list[str], n_stages: int) -> list[list[str]]:
    """Top-down groups: the output layer alone, then the rest from the output towards the
    input in ``n_stages - 1`` nearly equal groups."""
    if not names:
        raise MedlearnInputError("This model has no layer with weights to randomise.")
    rest = [list(g) for g in np.array_split(names[-2::-1], max(1, n_stages - 1)) if len(g)]
    return [[names[-1]], *rest]


def reinitialise(module: nn.Module) -> None:
    """Return one layer to a fresh random start (its own ``reset_parameters``: new weight draws,
    running statistics forgotten)."""
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    with torch.no_grad():
        for p in module.parameters(recurse=False):
            p.normal_(0.0, float(p.std()) if p.numel() > 1 else 0.02)


def similarity(trained: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """(Spearman rank correlation, SSIM) of two maps' absolute values; NaN correlation when a
    map is flat (a rank correlation needs two different values)."""
    a, b = np.abs(np.squeeze(trained)).astype(np.float64), np.abs(np.squeeze(other)).astype(np.float64)
    flat = np.ptp(a) == 0 or np.ptp(b) == 0
    rho = float("nan") if flat else float(spearmanr(a.ravel(), b.ravel()).statistic)
    side = min(a.shape)
    win = min(7, side if side % 2 else side - 1)
    ssim = float(structural_similarity(a, b, data_range=1.0, win_size=win)) if win >= 3 else float("nan")
    return rho, ssim


@dataclass
class Stage:
    """One step of the cascade: ``randomised`` layers re-initialised from the top so far
    (``layers``: this step's new ones); ``map`` in image space; scores against the trained map."""

    label: str
    randomised: int
    layers: list[str]
    map: np.ndarray
    spearman: float
    ssim: float


@dataclass
class SanityResult:
    """The trained map (stage 0) and each randomisation stage, with a verdict in words."""

    stages: list[Stage]
    method: str
    target: int
    total_layers: int
    verdict: str
    passed: bool | None

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def verdict(rho: float, ssim: float, trained_flat: bool = False) -> tuple[str, bool | None]:
    """Words for the similarity left once every layer is random (``rho`` NaN: the random map is flat)."""
    if trained_flat:
        return ("Nothing to test: the trained model's map is empty (the same value everywhere) for this "
                "image. Try another image or explanation method.", None)
    if rho != rho:
        return ("Passes: with every weight destroyed the map goes blank, so what the trained map shows "
                "came from what the model learned.", True)
    if rho < PASS_BELOW:
        return ("Passes: with every weight destroyed the map changes completely (rank correlation "
                f"{rho:.2f}, SSIM {ssim:.2f}), so the map depends on what the model learned.", True)
    if rho < FAIL_FROM:
        return (f"Unclear: part of the map survives random weights (rank correlation {rho:.2f}, SSIM "
                f"{ssim:.2f}); some of what it shows comes from the image, not the model.", None)
    return (f"Fails: a model with random weights draws much the same map (rank correlation {rho:.2f}, "
            f"SSIM {ssim:.2f}). This map is not explaining this model.", False)


def sanity_check(case: CaseStudy | str, image, checkpoint: str, method: str = "gradcam", n_stages: int = 5,
                 seed: int = 0, predictor=None) -> SanityResult:
    """Cascading randomisation of the model of ``checkpoint`` on ``image`` (see the module).

    Args:
        n_stages: randomisation steps after the trained map (the last one: every layer random).
        seed: the random draws of the new weights (same seed, same maps).
    """
    subject = load_subject(case, image, checkpoint, predictor)
    model, x = subject.model, subject.prep.x
    trained = subject.cam(model, method)
    names = weighted_layers(model, x)
    modules = dict(model.named_modules())
    stages = [Stage("trained", 0, [], subject.to_image(trained), 1.0, 1.0)]
    done = 0
    with torch.random.fork_rng(devices=[x.device] if x.is_cuda else []):
        torch.manual_seed(seed)
        for group in layer_groups(names, n_stages):
            for name in group:
                reinitialise(modules[name])
            done += len(group)
            maps = subject.cam(model, method)
            rho, ssim = similarity(trained, maps)
            label = ("output layer" if done == 1 else f"all {done} layers" if done == len(names)
                     else f"top {done}")
            stages.append(Stage(label, done, group, subject.to_image(maps), rho, ssim))
    words, passed = verdict(stages[-1].spearman, stages[-1].ssim, bool(np.ptp(trained) == 0))
    return SanityResult(stages, method, subject.target, len(names), words, passed)
