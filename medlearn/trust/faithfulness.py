"""Faithfulness: does removing what the map points at change the model's answer?

ROAD (Rong et al., ICML 2022; ``pytorch_grad_cam.metrics.road``) removes a growing share of
the pixels, the most relevant first (MoRF) or the least relevant first (LeRF), fills them by
noisy linear imputation (so the hole's shape does not leak the answer) and measures the
change in the model's probability for the explained class. A faithful map makes the MoRF
curve fall fast and the LeRF curve stay flat; it must beat a random map. Its score is the
library's ROADCombined, ``(mean LeRF - mean MoRF) / 2``: higher is more faithful.
MONAI's occlusion sensitivity (Zeiler and Fergus 2014) hides one patch at a time: a map
that needs no gradients, shown beside the CAM.

Volumes (3D networks): ROAD's imputer is written for 2D images (its weights are the eight
neighbours of a pixel) and solves one sparse system over the removed pixels, already about
3 s for 90 % of a 128 x 128 image on a CPU; a volume's fill would cost far more. So removed
voxels are filled from a Gaussian-blurred copy (:class:`BlurFill`, our own, ten lines), and
occlusion uses non-overlapping patches of a quarter of the side (64 forward passes). A 2D
network on a volume is tested on the slice where it found the most of the explained class.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from monai.transforms import GaussianSmooth
from monai.visualize import OcclusionSensitivity
from pytorch_grad_cam.metrics.perturbation_confidence import (
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from medlearn.explain import get_method
from medlearn.metrics import calibrate
from medlearn.trust.sanity import Subject, load_subject, similarity

FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)  # shares of the pixels removed
ORDERS = {"MoRF": RemoveMostRelevantFirst, "LeRF": RemoveLeastRelevantFirst}


class ClassScore(nn.Module):
    """``(B, K)`` probabilities: a classifier's (with its card's temperature), or a segmenter's
    mean class probabilities over a fixed ``region`` (the trained model's predicted mask)."""

    def __init__(self, model: nn.Module, region: torch.Tensor | None = None,
                 temperature: float | None = None):
        super().__init__()
        self.model, self.region, self.temperature = model, region, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = self.model(x).float().softmax(1)
        if self.region is None:
            calibrated = calibrate(probs.detach().cpu().numpy(), self.temperature)
            return torch.from_numpy(calibrated).float().to(probs.device)
        weight = self.region.to(probs)
        return (probs * weight).flatten(2).sum(-1) / weight.sum().clamp_min(1.0)


class BlurFill:
    """Fill removed voxels (``mask == 0``) from a Gaussian-blurred copy of the image ``(C, *s)``."""

    def __init__(self, sigma: float = 3.0):
        self.blur = GaussianSmooth(sigma=sigma)

    def __call__(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        blurred = torch.as_tensor(self.blur(img)).float()
        keep = mask.to(img.dtype)[None]
        return img * keep + blurred * (1 - keep)


def random_maps(shape: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    """``(n, *shape)`` random maps as blobby as a CAM: uniform noise on a grid of an eighth of
    each side, smoothly enlarged (a pixel-wise random map would be an easier, unfair rival)."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand((n, 1, *[max(2, s // 8) for s in shape]), generator=gen)
    mode = "bilinear" if len(shape) == 2 else "trilinear"
    return F.interpolate(coarse, size=shape, mode=mode, align_corners=False)[:, 0].numpy()


@dataclass
class Curve:
    """Change in the explained class's probability as ``removed`` shares of pixels go."""

    map_name: str
    order: str
    removed: tuple[float, ...]
    change: list[float]


@dataclass
class FaithfulnessResult:
    """ROAD curves and scores (CAM vs random maps), occlusion beside the CAM (image space)."""

    curves: list[Curve]
    road: dict[str, float]
    probability: float
    cam: np.ndarray
    occlusion: np.ndarray
    agreement: float
    method: str
    target: int
    fill: str
    slice_index: int | None


def road_curves(scorer: nn.Module, x: torch.Tensor, maps: np.ndarray, target: int, imputer,
                fractions=FRACTIONS) -> list[dict[str, list[float]]]:
    """MoRF and LeRF curves of each of ``maps`` ``(M, *s)`` for one input ``x`` ``(1, C, *s)``
    (one batch of M perturbed copies per share removed)."""
    batch = x.expand(len(maps), *x.shape[1:])
    targets = [ClassifierOutputTarget(target)] * len(maps)
    with torch.no_grad():
        base = float(scorer(x)[0, target])
    curves = {order: [PerturbationConfidenceMetric(remove(100 * (1 - f), imputer))(
        batch, maps.astype(np.float32), targets, scorer, return_diff=False) - base for f in fractions]
        for order, remove in ORDERS.items()}
    return [{order: [float(step[i]) for step in steps] for order, steps in curves.items()}
            for i in range(len(maps))]


def road_score(curves: dict[str, list[float]]) -> float:
    """ROADCombined of ``pytorch_grad_cam``: ``(mean LeRF - mean MoRF) / 2``."""
    return (float(np.mean(curves["LeRF"])) - float(np.mean(curves["MoRF"]))) / 2


def occlusion(scorer: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Drop in the class's probability when each region is hidden (MONAI occlusion sensitivity)."""
    size = x.shape[2:]
    volume = len(size) == 3
    patch = max(2, min(size) // 4)  # 2D: half-overlapping, 7 x 7 = 49 patches; 3D: 4 x 4 x 4 = 64
    occ = OcclusionSensitivity(scorer, mask_size=patch, n_batch=16, verbose=False,
                               overlap=0.0 if volume else 0.5, activate=False)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.filterwarnings("ignore", message="Using a non-tuple sequence")
        occluded = torch.as_tensor(occ(x)[0])[0, target]
        base = scorer(x)[0, target]
    return (base - occluded).cpu().numpy()


def focus_input(subject: Subject) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
    """The single input to test, its region, and the slice index for a 2D network on a volume."""
    x, region = subject.prep.x, subject.region
    if subject.prep.layout != "slices":
        return x, region, None
    found = region is not None and not bool(region.all())  # all: nothing predicted, the whole slice explained
    z = int(region.flatten(1).sum(1).argmax()) if found else x.shape[0] // 2
    return x[z:z + 1], None if region is None else region[z], z


def faithfulness(case, image, checkpoint: str, method: str = "gradcam", n_random: int = 2, seed: int = 0,
                 fractions=FRACTIONS, predictor=None) -> FaithfulnessResult:
    """ROAD curves of the CAM and of ``n_random`` random maps, and occlusion sensitivity, for one image."""
    subject = load_subject(case, image, checkpoint, predictor)
    x, region, z = focus_input(subject)
    scorer = ClassScore(subject.model, region, subject.loaded.card.temperature).eval()
    cam = subject.cam(subject.model, method, x)[0]
    rng = np.random.default_rng(seed)  # a 1e-6 jitter breaks ties, so each share removed is exact
    imputer = NoisyLinearImputer() if x.ndim == 4 else BlurFill()
    maps = np.concatenate([cam[None], random_maps(tuple(cam.shape), n_random, seed)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the imputer's noise
        maps = maps + 1e-6 * rng.random(maps.shape)
        ours, *rand = road_curves(scorer, x, maps, subject.target, imputer, fractions)
    title = get_method(method).title
    baseline = {o: [float(v) for v in np.mean([r[o] for r in rand], 0)] for o in ORDERS}
    curves = [Curve(name, o, tuple(fractions), c[o]) for name, c in ((title, ours), ("random map", baseline))
              for o in ORDERS]
    drop = occlusion(scorer, x, subject.target)
    with torch.no_grad():
        probability = float(scorer(x)[0, subject.target])
    shown = np.clip(drop, 0, None) / max(float(drop.max()), 1e-8)
    return FaithfulnessResult(
        curves, {title: road_score(ours), "random map": road_score(baseline)}, probability,
        _image_map(subject, cam, z), _image_map(subject, shown.astype(np.float32), z),
        similarity(cam, shown)[0],
        method, subject.target, "noisy linear imputation (ROAD)" if x.ndim == 4 else "blurred copy (3D)", z)


def _image_map(subject: Subject, m: np.ndarray, z: int | None) -> np.ndarray:
    """One model-space map ``(*s)`` back to the image (a 2D network on a volume: into slice ``z``)."""
    if z is None:
        return subject.to_image(m[None])
    stack = np.zeros((subject.prep.x.shape[0], *m.shape), np.float32)
    stack[z] = m
    return subject.to_image(stack)
