"""Transfer-learning weight sources, reported honestly.

Two sources exist:

* **ImageNet weights from torchvision**, used only when the file is already in the
  torch hub cache (``torch.hub.get_dir()/checkpoints``). Tests never download;
  :func:`fetch_imagenet_weights` downloads only when a user asks for it.
* **MedLearn weights** from a checkpoint trained on another MedLearn dataset (e.g.
  the phantoms of another case): :func:`load_backbone_from` copies every tensor
  whose name and shape match and says how many.

The UI must never claim "pretrained" when it is not: read ``model.medlearn_weights``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from medlearn.errors import MedlearnInputError
from medlearn.models.registry import get_spec

IMAGENET_CACHED = "ImageNet weights (torchvision, cached)"
IMAGENET_OFFLINE = "no ImageNet weights available offline"
IMAGENET_NONE = "no ImageNet weights exist for this architecture"
PUBLISHED_WIDTH = 64  # ImageNet weights only fit the published channel counts


@dataclass
class LoadReport:
    """What a partial weight transfer did (names of the target model's tensors)."""

    copied: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)  # RGB kernels summed to 1 channel
    skipped: list[str] = field(default_factory=list)  # kept at random initialisation

    @property
    def total(self) -> int:
        return len(self.copied) + len(self.adapted) + len(self.skipped)

    def describe(self) -> str:
        text = f"{len(self.copied) + len(self.adapted)} of {self.total} tensors loaded"
        if self.adapted:
            text += f" ({len(self.adapted)} colour kernels summed to grey)"
        return text


def imagenet_weights(name: str):
    """The torchvision ``Weights`` enum member for ``name``, or None if there is none."""
    from torchvision.models import get_model_weights

    tv_name = get_spec(name).imagenet
    return get_model_weights(tv_name).DEFAULT if tv_name else None


def cached_path(name: str) -> Path | None:
    """Path of the cached ImageNet checkpoint for ``name``, or None when not on this machine."""
    weights = imagenet_weights(name)
    if weights is None:
        return None
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    return path if path.is_file() else None


def cached_imagenet_file(name: str) -> Path:
    """Like :func:`cached_path` but raises :class:`MedlearnInputError` with the reason."""
    title = get_spec(name).title
    if imagenet_weights(name) is None:
        raise MedlearnInputError(f"{title}: {IMAGENET_NONE}; train it from scratch instead.")
    path = cached_path(name)
    if path is None:
        raise MedlearnInputError(
            f"{title}: {IMAGENET_OFFLINE}. Download them first (needs internet), "
            "or train from scratch.")
    return path


def weights_status(name_or_model: str | nn.Module) -> str:
    """An honest one-line status: for a registry name, which ImageNet weights are on this
    machine; for a built model, what its weights actually are."""
    if isinstance(name_or_model, nn.Module):
        return getattr(name_or_model, "medlearn_weights", "unknown weights (not built by MedLearn)")
    if imagenet_weights(name_or_model) is None:
        return IMAGENET_NONE
    return IMAGENET_CACHED if cached_path(name_or_model) else IMAGENET_OFFLINE


def fetch_imagenet_weights(name: str, progress: bool = True) -> Path:
    """Download the ImageNet checkpoint for ``name`` into the torch hub cache (user request only)."""
    weights = imagenet_weights(name)
    if weights is None:
        raise MedlearnInputError(f"{get_spec(name).title}: {IMAGENET_NONE}.")
    try:
        weights.get_state_dict(progress=progress)
    except OSError as exc:  # URLError is an OSError
        raise MedlearnInputError(f"Could not download ImageNet weights for {name}: {exc}") from None
    return cached_imagenet_file(name)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file; ``weights_only`` loading never runs pickled code."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise MedlearnInputError(f"Could not read weights from {Path(path).name}: {exc}") from None
    return _tensors(state)


def load_matching(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> LoadReport:
    """Copy tensors whose name and shape match into ``model``; colour first-layer kernels
    ``(O, 3, *k)`` are summed into grey ``(O, 1, *k)``. Everything else keeps its init."""
    source, report = _tensors(state_dict), LoadReport()
    target = model.state_dict()
    for key, value in target.items():
        src = source.get(key)
        if src is not None and src.shape == value.shape:
            target[key] = src.to(value.dtype)
            report.copied.append(key)
        elif src is not None and _is_rgb_to_grey(src, value):
            target[key] = src.sum(dim=1, keepdim=True).to(value.dtype)
            report.adapted.append(key)
        else:
            report.skipped.append(key)
    model.load_state_dict(target)
    return report


def load_backbone_from(model: nn.Module, state_dict: Mapping[str, torch.Tensor],
                       source: str = "another MedLearn dataset") -> LoadReport:
    """Warm-start ``model`` from a MedLearn checkpoint trained on ``source``.

    Returns:
        The :class:`LoadReport`; ``model.medlearn_weights`` becomes
        ``"MedLearn weights pre-trained on <source>"``.

    Raises:
        MedlearnInputError: when not a single tensor fits (a different architecture).
    """
    report = load_matching(model, state_dict)
    if not report.copied and not report.adapted:
        raise MedlearnInputError(
            "None of the checkpoint's weights fit this model: it was trained with a different "
            "architecture or width.")
    model.medlearn_weights = f"MedLearn weights pre-trained on {source}"
    model.medlearn_weights_detail = report.describe()
    return report


def _is_rgb_to_grey(src: torch.Tensor, dst: torch.Tensor) -> bool:
    return (src.dim() == dst.dim() >= 3 and src.shape[1] == 3 and dst.shape[1] == 1
            and src.shape[0] == dst.shape[0] and src.shape[2:] == dst.shape[2:])


def _tensors(state: object) -> dict[str, torch.Tensor]:
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]  # a checkpoint wrapping its weights
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MedlearnInputError("This file does not hold model weights (a name -> tensor mapping).")
    return dict(state)
