"""Class activation maps through ``pytorch_grad_cam``: 2D and 3D, classifiers and segmenters.

Models are shared between sessions (cached once per server), and a CAM registers
forward hooks on the target layer of that shared model. Two concurrent CAMs on one
model would each record the other's activations, so :func:`compute_cam` holds a
per-model lock while hooks exist (and every other forward pass on a shared model must
take the same lock, :func:`model_lock`: hooks fire for any caller's forward); hooks
are always released by the context manager (``with Method(...) as cam``). A lock rather than a per-thread copy of the model:
the CPU work is already parallel inside torch, so two CAMs at once on two cores
gain little, while a copy of a module tree per thread costs memory and time for
every new thread (``bench`` and ``tests/explain`` measure the lock's behaviour).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget, SemanticSegmentationTarget
from torch import nn

from medlearn.errors import MedlearnInputError
from medlearn.explain.methods import CamMethod, get_method
from medlearn.explain.targets import find_target_layer

# One lock per live model, created on first use; weak keys let cached models be freed.
_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.Lock]" = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.Lock:
    """The lock that serialises hook-based work on ``model`` across threads."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.Lock()
        return lock


@dataclass
class CamResult:
    """What one CAM call returns.

    Attributes:
        maps: ``(B, *spatial)`` float32 in [0, 1] at the input tensor's resolution.
        logits: the model's output of the same forward pass, detached:
            ``(B, K)`` for classifiers, ``(B, K, *spatial)`` for segmenters.
        target_classes: the class explained for each sample.
        forward_ms: time of the forward pass inside the CAM (the rest is backward + maps).
        features: ``{view: (B, D)}`` feature vectors of that forward pass (:mod:`medlearn.ood`), or None.
    """

    maps: np.ndarray
    logits: torch.Tensor
    target_classes: list[int]
    forward_ms: float
    features: dict | None = None


class PredictedMaskTarget(SemanticSegmentationTarget):
    """SemanticSegmentationTarget whose class and mask come from the model's own prediction.

    Decided at the first call (the CAM's own forward pass), so prediction and
    explanation share one forward. ``category=None`` picks the foreground class with
    the largest predicted area (or, when nothing is predicted, the most probable one).
    """

    def __init__(self, category: int | None = None):
        self.category, self.mask = category, None

    def __call__(self, model_output: torch.Tensor) -> torch.Tensor:
        if self.mask is None:
            self._decide(model_output.detach())
        return super().__call__(model_output)

    def _decide(self, output: torch.Tensor) -> None:
        labels = output.max(0).indices  # max().indices: much faster than argmax over channels on CPU
        if self.category is None:
            areas = torch.bincount(labels.flatten(), minlength=output.shape[0])[1:]
            if areas.sum() > 0:
                self.category = int(areas.argmax()) + 1
            else:
                self.category = int(output[1:].flatten(1).amax(1).argmax()) + 1 if output.shape[0] > 1 else 0
        mask = labels == self.category
        self.mask = (mask if mask.any() else torch.ones_like(mask)).float().cpu()


class _TimedForward(nn.Module):
    """A per-call wrapper that times the first forward pass and keeps its feature vectors
    (:class:`medlearn.ood.FeatureTap`; the shared model is untouched)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.forward_ms: float | None = None
        self.features: dict | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from medlearn.ood import FeatureTap

        if self.forward_ms is not None:
            return self.model(x)
        start = time.perf_counter()
        with FeatureTap(self.model) as tap:
            out = self.model(x)
        self.forward_ms = (time.perf_counter() - start) * 1000
        self.features = tap.features
        return out


def _gradients_from_here(module: nn.Module, inputs, output):
    """Forward hook: with frozen weights and a plain input nothing upstream needs gradients,
    so let them start at the target layer; the backward pass then only runs through the
    layers after it (same Grad-CAM weights, a fraction of the cost). A clone, so a
    following in-place ReLU does not touch a leaf."""
    if isinstance(output, torch.Tensor) and not output.requires_grad:
        return output.detach().requires_grad_(True).clone()
    return None


def _targets(method: CamMethod, model: nn.Module, x: torch.Tensor, task: str, class_index: int | None) -> list | None:
    if task == "segmentation":
        targets = [PredictedMaskTarget(class_index) for _ in range(x.shape[0])]
        if not method.uses_gradients:  # gradient-free methods call targets on masked inputs: decide first
            with torch.no_grad():
                for target, out in zip(targets, model(x)):
                    target._decide(out)
        return targets
    return None if class_index is None else [ClassifierOutputTarget(class_index) for _ in range(x.shape[0])]


def _check(method: CamMethod, x: torch.Tensor, task: str) -> None:
    if x.ndim not in (4, 5):
        raise MedlearnInputError(f"A CAM needs a batch (B, C, H, W) or (B, C, D, H, W), got shape {tuple(x.shape)}.")
    if x.ndim - 2 not in method.spatial_dims:
        raise MedlearnInputError(f"{method.title} works on 2D images only; choose Grad-CAM for volumes.")
    if task not in ("classification", "segmentation"):
        raise MedlearnInputError(f"Unknown task {task!r}: use classification or segmentation.")


def compute_cam(
    model: nn.Module,
    x: torch.Tensor,
    *,
    method: str = "gradcam",
    task: str = "classification",
    class_index: int | None = None,
    target_layer: nn.Module | None = None,
    arch: str | None = None,
) -> CamResult:
    """Explain ``model``'s output for the batch ``x`` with one CAM method.

    Args:
        model: a classifier ``(B, K)`` or segmenter ``(B, K, *spatial)`` in eval mode.
        x: the preprocessed input ``(B, C, H, W)`` or ``(B, C, D, H, W)``.
        method: a name from :func:`~medlearn.explain.methods.list_methods`.
        task: ``"classification"`` (explain ``class_index``, default the top class) or
            ``"segmentation"`` (explain the predicted mask of ``class_index``, default
            the largest predicted foreground class).
        class_index: the class to explain, or None.
        target_layer: the layer to explain; default :func:`find_target_layer`.
        arch: architecture name for target-layer overrides.

    Returns:
        :class:`CamResult`; the logits come from the same forward pass.
    """
    spec = get_method(method)
    _check(spec, x, task)
    layer = target_layer if target_layer is not None else find_target_layer(model, arch, task)
    timed = _TimedForward(model)
    with model_lock(model), torch.inference_mode(False), torch.enable_grad():
        x = x.detach().clone()  # inference-mode tensors cannot take part in a backward pass
        targets = _targets(spec, model, x, task, class_index)
        handle = layer.register_forward_hook(_gradients_from_here) if spec.uses_gradients else None
        try:
            with spec.cam_class(model=timed, target_layers=[layer]) as cam:
                cam.batch_size = 64  # Score-CAM: masked copies per forward pass
                maps = cam(input_tensor=x, targets=targets)
                logits = cam.outputs.detach()
        finally:
            if handle is not None:
                handle.remove()
            model.zero_grad(set_to_none=True)  # no gradients left on the shared model
    if task == "segmentation":
        chosen = [t.category for t in targets]
    else:
        chosen = logits.argmax(1).tolist() if class_index is None else [class_index] * x.shape[0]
    maps = np.clip(np.nan_to_num(np.asarray(maps, np.float32)), 0.0, 1.0)
    return CamResult(maps, logits, [int(c) for c in chosen], timed.forward_ms or 0.0, timed.features)
