"""Is this input like the model's training images? A distance in the network's feature space,
calibrated on its validation images.

Our own code, small on purpose: the detectors in the literature (deep nearest neighbours,
Sun et al., ICML 2022; Mahalanobis distance, Lee et al., NeurIPS 2018) live in research
code bases, not in a kept library with a stable API for an arbitrary ``nn.Module``.

* :class:`FeatureTap` records, from the same forward pass that answers (no second pass),
  two views of each image: ``"last"``, the input of the network's head, averaged over space
  (a classifier's features before its ``Linear``; a segmenter's decoder features before its
  output layers), and ``"early"``, the spatial
  mean and spread of the inputs of the first third of the weight layers (low-level image
  statistics: texture, contrast);
* :func:`fit_familiarity` keeps, per view, a bank of up to :data:`BANK` training images'
  vectors (unit length, float16, stored beside the weights) and the distances of the
  validation images (never trained on) to it: their 99th percentile is the calibration;
* :func:`distances` is the cosine distance to the ``K``-th nearest vector of a bank (the
  deep-nearest-neighbour score); an image's ratio is the larger of its two views' distance
  over that view's validation 99th percentile;
* :func:`judge` turns the ratio into a level and words a student understands: within what
  the validation images reached, beyond 99 % of them (``"unusual"``), or beyond :data:`FAR`
  times that (``"unlike"``: the answer says nothing about this image).

A last layer whose input is already at the output's channel count is not the head's input:
MONAI's U-Net ends in a convolution on its class scores, whose input is 2 or 3 numbers a
pixel and said nothing of the picture (its distances sat at float16 rounding); the view is
then the input of the last weight layer at another width, the decoder's features. A detector
names its own layers (``feature_layers``: backbone and pyramid, all at one width), and the
last of them is its view.

Why two views (measured): on a RetinaMNIST ResNet-18 the last view put seven everyday
photographs at 2.1 to 4.2 times the 99th percentile (1 % of 200 test fundus photos beyond
it), the early view missed the astronaut (0.91); on a BUSI ResNet-18 (19 validation images)
the last view called all seven typical (0.42 to 0.89) while the early view put them at 1.6 to
14 times. A diagonal Mahalanobis distance and a 32-component PCA of the last view both lost
the separation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

WEIGHT_LAYERS = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
BANK = 256  # training vectors kept (a seeded sample beyond this): 256 KB for 512 features
K = 5  # the neighbour whose distance counts
FAR = 1.5  # "unlike its training images" beyond this multiple of the validation 99th percentile
RESOLUTION = 1e-3  # cosine distances below this are float16 rounding between nearly parallel vectors (the
# banks' precision: stored 99th percentiles of -1.3e-5 were seen), so no view is calibrated tighter. A segmenter's
# decoder features averaged over a mostly-background photograph sit that close (CHASE_DB1 U-Net: 99th percentile
# 3e-5); divided by their own percentile, rounding alone called its training photographs unusual (ratio 1.4-2.2)
MIN_VAL = 20  # fewer validation images: their "99th percentile" is about their furthest, and a familiar
# image lands beyond the furthest of n with probability 1/(n+1): "unusual" on so few, and
FAR_FEW = 5.0  # "unlike" only beyond this multiple of it (measured on the CHASE_DB1 U-Net calibrated on 2
# photographs: its 8 training photographs at 0.5-1.95 times, an astronaut, a cat and a camera man at 14-19 times)
STALE = ("No familiarity check for this model: it was calibrated by an older MedLearn that read another layer of "
         "the network. Recalibrate it (a button on the Predict page; its weights stay as they are) or train it "
         "again to learn whether an image is like its training images.")
BANK_NAME = "familiarity.bank"  # + ".last" / ".early": the banks' names among the tensors beside the weights


class FeatureTap:
    """Context manager: after a forward pass, :attr:`features` holds ``{"last": (B, D),
    "early": (B, E)}`` float32 (see module doc), or None if no weight layer ran."""

    def __init__(self, model: torch.nn.Module):
        self.model, self._handles = model, []
        self._last: torch.Tensor | None = None
        self._before: torch.Tensor | None = None  # the last input at another width than ``_last``'s
        self._out = 0  # the output channels of the last layer that ran
        self._named = False  # the model named its layers: the last one's input is the view
        self._early: list[torch.Tensor] = []
        self._n_early = 0

    def __enter__(self) -> "FeatureTap":
        # A detector (Mask R-CNN, Faster R-CNN) names the layers that run once per image: its heads
        # run once per region, so their inputs are not one vector per image.
        chosen = getattr(self.model, "feature_layers", None)
        self._named = callable(chosen)
        layers = list(chosen()) if callable(chosen) else [m for m in self.model.modules()
                                                          if isinstance(m, WEIGHT_LAYERS)]
        self._n_early = max(1, len(layers) // 3)
        self._handles = [m.register_forward_hook(self._hook) for m in layers]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, module, inputs, output) -> None:
        if not inputs:
            return
        x = inputs[0]
        if self._last is not None and x.shape[1] != self._last.shape[1]:
            self._before = self._last
        self._last, self._out = x, output.shape[1]
        if len(self._early) < self._n_early:  # the first layers to run: their statistics now
            v = _sampled(x.detach()).float().flatten(2) if x.dim() > 2 else x.detach().float()[..., None]
            if v.shape[-1] > 1:
                spread, mean = torch.std_mean(v, -1)  # one pass over a full-resolution map, not two
            else:
                spread, mean = torch.zeros_like(v[..., 0]), v[..., 0]
            self._early.append(torch.cat([mean, spread], 1))

    @property
    def features(self) -> dict[str, np.ndarray] | None:
        x = self._last
        if x is None:
            return None
        if not self._named and x.shape[1] == self._out and self._before is not None:  # a layer on class scores
            x = self._before
        x = x.detach().float()
        last = (x.flatten(2).mean(-1) if x.dim() > 2 else x).cpu().numpy().astype(np.float32)
        early = np.concatenate([_unit(t.cpu().numpy()) for t in self._early], 1)  # each layer weighs the same
        return {"last": last, "early": early}


VIEWS = ("last", "early")
STAT_POINTS = 256 * 256  # the early view's statistics read at most about this many points of a map


def _sampled(x: torch.Tensor) -> torch.Tensor:
    """A map ``(B, C, *spatial)`` with more than :data:`STAT_POINTS` points read on an even grid of
    about that many (every ``s``-th point along each axis): its mean and spread stay within a
    fraction of a percent, at a fraction of the cost on a megapixel photograph (maps of the
    usual 2D inputs up to 256 x 256 are read whole)."""
    points = math.prod(x.shape[2:])
    if points <= STAT_POINTS:
        return x
    step = math.ceil((points / STAT_POINTS) ** (1.0 / (x.dim() - 2)))
    return x[(slice(None), slice(None)) + (slice(None, None, step),) * (x.dim() - 2)]


@torch.no_grad()
def features_of(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 32,
                device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """``{view: (N, D)}`` feature vectors of prepared images ``(N, C, *spatial)`` (eval mode)."""
    model.eval()
    rows: list[dict[str, np.ndarray]] = []
    for start in range(0, len(images), batch_size):
        with FeatureTap(model) as tap:
            model(images[start:start + batch_size].to(device))
        rows.append(tap.features)
    return {view: np.concatenate([r[view] for r in rows]) for view in VIEWS}


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, np.float32))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit_familiarity(model: torch.nn.Module, train_images: torch.Tensor, val_images: torch.Tensor,
                    seed: int = 0, device: torch.device | str = "cpu"
                    ) -> tuple[dict, dict[str, np.ndarray]] | None:
    """``(calibration for the checkpoint's metadata, {view: bank (n, D) float16})``, or None
    without enough images (fewer validation images than 2, or training images than ``K``)."""
    if len(val_images) < 2 or len(train_images) < K:
        return None
    if len(train_images) > BANK:
        rows = np.sort(np.random.default_rng(seed).choice(len(train_images), BANK, replace=False))
        train_images = train_images[torch.as_tensor(rows)]
    train, val = features_of(model, train_images, device=device), features_of(model, val_images, device=device)
    banks = {view: _unit(train[view]).astype(np.float16) for view in VIEWS}
    stats: dict = {"k": K, "n_bank": int(len(train_images)), "n_val": int(len(val_images))}
    for view in VIEWS:
        d = distances(banks[view], val[view])
        stats[view] = {"p95": float(np.percentile(d, 95)), "p99": float(np.percentile(d, 99)),
                       "val_median": float(np.median(d))}
    return stats, banks


def distances(bank: np.ndarray, features: np.ndarray, k: int = K) -> np.ndarray:
    """Cosine distance of each feature vector to its ``k``-th nearest vector of the bank."""
    d = 1.0 - _unit(features) @ np.asarray(bank, np.float32).T
    k = min(k, d.shape[1])
    return np.partition(d, k - 1, axis=1)[:, k - 1]


@dataclass(frozen=True)
class Familiarity:
    """How far an input lies from the training images, and what that means: ``ratio`` is the
    larger of the two views' distance over that view's validation 99th percentile (NaN for
    ``"stale"``: banks stored by an older MedLearn whose views no longer match the network's)."""

    ratio: float
    view: str  # the view that gave the ratio
    level: str  # "typical", "unusual" or "unlike"
    words: str

    def to_dict(self) -> dict:
        ratio = round(self.ratio, 3) if math.isfinite(self.ratio) else None
        return {"ratio": ratio, "view": self.view, "level": self.level, "words": self.words}


def judge(stats: dict | None, banks: dict[str, np.ndarray] | None,
          features: dict[str, np.ndarray] | None) -> Familiarity | None:
    """The verdict for one image's features (``{view: (D,)}``), or None when the model has no
    calibration for them."""
    if not stats or not banks or not features:
        return None
    ratios = {}
    for view in VIEWS:
        bank, feature, calib = banks.get(view), features.get(view), stats.get(view)
        if bank is None or feature is None or not calib:
            return None
        if np.asarray(feature).shape[-1] != bank.shape[1]:  # calibrated on another view of the network
            return Familiarity(math.nan, view, "stale", STALE)
        d = float(distances(bank, feature, int(stats.get("k", K)))[0])
        ratios[view] = d / max(calib["p99"], RESOLUTION)  # no tighter than the banks' float16 precision
    view = max(ratios, key=ratios.get)
    ratio = ratios[view]
    if ratio <= 1.0:
        return Familiarity(ratio, view, "typical", "Like the images this model learnt from: as close to its training "
                           "images as its validation images were.")
    n_val = int(stats.get("n_val") or 0)
    if n_val < MIN_VAL and ratio > FAR_FEW:
        return Familiarity(ratio, view, "unlike", f"Unlike anything this model learnt from: {ratio:.1f} times further "
                           f"from its training images than the furthest of its {n_val} validation images, far beyond "
                           "what so few could leave unexplained. The answer below says nothing reliable about this "
                           "image.")
    if n_val < MIN_VAL:  # a tiny validation split (2 photographs of CHASE_DB1): say how little it knows
        return Familiarity(ratio, view, "unusual", f"Unusual for this model: {ratio:.1f} times further from its "
                           f"training images than the furthest of its {n_val} validation images. With so few, about "
                           f"1 familiar image in {n_val + 1} lands that far too, so this is a caution, not a verdict: "
                           "read the answer with extra care.")
    if ratio <= FAR:
        return Familiarity(ratio, view, "unusual", f"Unusual for this model: further from its training images than "
                           f"99 % of its validation images ({ratio:.1f} times the 99th percentile). Read the answer "
                           "with extra care.")
    return Familiarity(ratio, view, "unlike", f"Unlike anything this model learnt from: {ratio:.1f} times further from "
                       "its training images than 99 % of its validation images. The answer below says nothing "
                       "reliable about this image.")


def row(features: dict[str, np.ndarray] | None, i: int) -> dict[str, np.ndarray] | None:
    """Image ``i``'s features of a batch's ``{view: (B, D)}``."""
    return None if features is None else {view: v[i] for view, v in features.items()}


def bank_tensors(banks: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The banks as named tensors to store beside the weights (``checkpoints.EXTRA_PREFIX`` is added)."""
    return {f"{BANK_NAME}.{view}": torch.from_numpy(np.ascontiguousarray(bank)) for view, bank in banks.items()}


def read_banks(path) -> dict[str, np.ndarray] | None:
    """The banks stored beside a checkpoint's weights, or None (an older checkpoint has none)."""
    from medlearn.train.checkpoints import read_extra

    banks = {}
    for view in VIEWS:
        stored = read_extra(path, f"{BANK_NAME}.{view}")
        if stored is None:
            return None
        banks[view] = stored.float().numpy()
    return banks

