"""The model registry: builders registered by decorator, torchvision style.

Each architecture lives in its own module and registers a plain builder with
:func:`register_model`. Pages fill their select boxes from :func:`list_models`;
nothing in MedLearn branches on a model's name. :func:`get_model` checks the
configuration, builds the network, optionally loads weights and stamps every
model with ``medlearn_weights`` (a short, honest string for the UI).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from medlearn.errors import UnknownNameError

TASK_KINDS = ("classification", "segmentation", "detection")


@dataclass(frozen=True)
class ModelSpec:
    """What MedLearn knows about one architecture.

    Attributes:
        name: registry key (``"resnet18"``, ``"unet"``...).
        task: ``"classification"``, ``"segmentation"`` or ``"detection"`` (a detector: its
            evaluation output is a dense ``(B, K, H, W)`` score map of its boxes, as a
            segmenter's logits, and ``detect(x)`` gives the boxes themselves).
        spatial_dims: dimensionalities the builder supports; the first is the default.
        title: human name for select boxes and the architecture gallery.
        paper: the reference to cite.
        library: where the implementation comes from (``"torchvision"``, ``"MONAI"``,
            ``"MedLearn"``, ``"scikit-learn"``).
        framework: ``"torch"`` (an ``nn.Module``) or ``"sklearn"`` (the classical baseline).
        size_multiple: spatial sizes must be multiples of this (1 = any size).
        min_size: smallest spatial size the network accepts.
        width_note: what ``width`` changes for this architecture.
        imagenet: torchvision model whose ImageNet weights fit this network ("" = none).
        builder: ``builder(in_channels, num_classes, spatial_dims, width, input_size, **config)``.
    """

    name: str
    task: str
    spatial_dims: tuple[int, ...]
    title: str
    paper: str
    library: str
    builder: Callable[..., Any]
    framework: str = "torch"
    size_multiple: int = 1
    min_size: int = 16
    width_note: str = ""
    imagenet: str = ""

    @property
    def is_segmentation(self) -> bool:
        """A dense ``(B, K, *spatial)`` output: segmenters, and detectors (their score maps)."""
        return self.task in ("segmentation", "detection")

    def config_keys(self) -> tuple[str, ...]:
        """Extra keyword options the builder understands (beyond the common ones)."""
        common = {"in_channels", "num_classes", "spatial_dims", "width", "input_size"}
        params = inspect.signature(self.builder).parameters
        return tuple(p for p in params if p not in common)


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    name: str,
    *,
    task: str,
    spatial_dims: tuple[int, ...] | int = 2,
    title: str,
    paper: str,
    library: str,
    framework: str = "torch",
    size_multiple: int = 1,
    min_size: int = 16,
    width_note: str = "",
    imagenet: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that registers a builder under ``name``; duplicate names are refused."""
    if task not in TASK_KINDS:
        raise ValueError(f"task must be one of {TASK_KINDS}, got {task!r}")
    dims = (spatial_dims,) if isinstance(spatial_dims, int) else tuple(spatial_dims)

    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name, task, dims, title, paper, library, builder, framework,
                                    size_multiple, min_size, width_note, imagenet)
        return builder

    return decorate


def get_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``, or :class:`UnknownNameError` listing the known names."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"Unknown model {name!r}; known models: {', '.join(_REGISTRY)}.") from None


def list_models(task_kind: str | None = None, spatial_dims: int | None = None) -> list[ModelSpec]:
    """Registered models in registration order, optionally filtered by task and dimensionality."""
    if task_kind is not None and task_kind not in TASK_KINDS:
        raise UnknownNameError(f"Unknown task kind {task_kind!r}; known kinds: {', '.join(TASK_KINDS)}.")
    return [s for s in _REGISTRY.values()
            if (task_kind is None or s.task == task_kind)
            and (spatial_dims is None or spatial_dims in s.spatial_dims)]
