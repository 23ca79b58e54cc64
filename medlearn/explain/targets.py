"""Which layer a CAM method explains: the last convolution, with per-architecture overrides.

The default walks the model's modules in registration order (execution order for
the usual Sequential/encoder-decoder layouts) and takes the last convolution. For
segmenters the last convolution is usually the output head (one channel per
class); explaining the head only echoes the logits, so the default skips the
trailing convolutions that produce the head's channel count and takes the
decoder layer before it. Architectures with a better-known choice (the last
residual block of a ResNet, as in the Grad-CAM papers) register an override; a model
with a ``cam_layer()`` method (the detectors: their heads run once per region, not per
image) names its layer itself.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from medlearn.errors import MedlearnInputError

Override = Callable[[nn.Module], "nn.Module | None"]

_CONV_TYPES = (nn.modules.conv._ConvNd,)
_OVERRIDES: dict[str, Override] = {}


def register_target_layer(arch: str, pick: Override) -> None:
    """Register ``pick(model) -> layer or None`` for models of architecture ``arch``.

    ``pick`` returns None when the model does not have the expected layout, and the
    default search is used instead.
    """
    _OVERRIDES[arch] = pick


def _find(model: nn.Module, *path: str) -> nn.Module | None:
    """``model.a.b[-1]``-style lookup that also looks one wrapper deep (``model.net``...)."""
    for root in (model, *model.children()):
        node = root
        try:
            for step in path:
                node = node[int(step)] if step.lstrip("-").isdigit() else getattr(node, step)
        except (AttributeError, IndexError, TypeError, KeyError):
            continue
        if isinstance(node, nn.Module):
            return node
    return None


register_target_layer("resnet18", lambda m: _find(m, "layer4", "-1"))
register_target_layer("resnet3d", lambda m: _find(m, "layer4", "-1"))
register_target_layer("resnet", lambda m: _find(m, "layer4", "-1"))
register_target_layer("densenet121", lambda m: _find(m, "features"))


def conv_layers(model: nn.Module) -> list[nn.Module]:
    """Every convolution (2D, 3D, transposed) of ``model`` in registration order."""
    return [m for m in model.modules() if isinstance(m, _CONV_TYPES)]


def find_target_layer(model: nn.Module, arch: str | None = None, task: str = "classification") -> nn.Module:
    """The layer to explain.

    Args:
        model: a classifier or segmenter.
        arch: registry name of the architecture (enables its override), or None.
        task: ``"classification"`` or ``"segmentation"`` (segmenters skip the output head).

    Raises:
        MedlearnInputError: the model has no convolution (CAM methods need feature maps).
    """
    chosen = getattr(model, "cam_layer", None)  # a detector names the feature map its regions are read from
    if callable(chosen):
        return chosen()
    if arch in _OVERRIDES:
        layer = _OVERRIDES[arch](model)
        if layer is not None:
            return layer
    convs = conv_layers(model)
    if not convs:
        raise MedlearnInputError(
            "This model has no convolutional layer, so class activation maps cannot be computed."
        )
    if task != "segmentation":
        return convs[-1]
    head_channels = convs[-1].out_channels
    before_head = [c for c in convs if c.out_channels != head_channels]
    return before_head[-1] if before_head else convs[-1]
