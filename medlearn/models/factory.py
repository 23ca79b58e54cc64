"""``get_model``: build any registered architecture from one set of arguments.

Policy on ``pretrained=True`` (documented for the UI): MedLearn never downloads
behind a user's back and never claims weights it did not load. If the
architecture has ImageNet weights in torchvision *and* they are already in the
torch hub cache, the published-size network is built and the weights loaded;
otherwise :class:`~medlearn.errors.MedlearnInputError` says why. Every built model
carries ``model.medlearn_weights``, a short string saying what its weights are.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from medlearn.errors import MedlearnError, MedlearnInputError
from medlearn.models import pretrained as _pretrained
from medlearn.models.checks import InputCheck, check_spatial_size, positive_int
from medlearn.models.registry import ModelSpec, get_spec

RANDOM_INIT = "random initialisation (trained from scratch)"


def get_model(
    name: str,
    *,
    in_channels: int,
    num_classes: int,
    spatial_dims: int | None = None,
    width: int = 16,
    input_size: int | None = None,
    pretrained: bool = False,
    **config: Any,
) -> Any:
    """Build a registered model.

    Args:
        name: registry name (see :func:`list_models`).
        in_channels: 1 for grey modalities, 3 for colour pictures.
        num_classes: classes (classifiers) or label values incl. background (segmenters).
        spatial_dims: 2 or 3; ``None`` picks the model's own (first supported) dims.
        width: base channel count of MedLearn's and MONAI's nets; see ``spec.width_note``
            for torchvision networks.
        input_size: expected side length in pixels; lets classifiers adapt their stem to
            small inputs and segmenters check divisibility early.
        pretrained: load ImageNet weights from the local torch hub cache (see module doc).
        **config: architecture-specific options (``spec.config_keys()``).

    Returns:
        An ``nn.Module`` mapping ``(B, C, *spatial)`` to logits ``(B, K)`` (classifiers)
        or ``(B, K, *spatial)`` (segmenters); for ``"classic"`` a
        :class:`~medlearn.models.classic.ClassicalClassifier`.

    Raises:
        UnknownNameError: unknown ``name``.
        MedlearnInputError: impossible configuration, or pretrained weights not available.
    """
    spec = get_spec(name)
    dims = _check_config(spec, in_channels, num_classes, spatial_dims, width, input_size, config)
    if pretrained:
        return _build_pretrained(spec, in_channels, num_classes, dims, input_size, config)
    model = _build(spec, in_channels=in_channels, num_classes=num_classes, spatial_dims=dims,
                   width=width, input_size=input_size, **config)
    return _finish(model, spec, in_channels, dims, RANDOM_INIT)


def _build(spec: ModelSpec, **kwargs: Any) -> Any:
    """Call the builder; a library's complaint about an option becomes a MedLearn input error."""
    try:
        return spec.builder(**kwargs)
    except MedlearnError:
        raise
    except (ValueError, TypeError) as exc:  # e.g. dropout=2 refused by nn.Dropout
        raise MedlearnInputError(f"{spec.title} cannot be built with these options: {exc}") from exc


def _check_config(spec: ModelSpec, in_channels: int, num_classes: int, spatial_dims: int | None,
                  width: int, input_size: int | None, config: dict) -> int:
    positive_int(in_channels, "in_channels")
    positive_int(num_classes, "num_classes", 2 if spec.framework == "sklearn" else 1)
    positive_int(width, "width")
    dims = spec.spatial_dims[0] if spatial_dims is None else spatial_dims
    if dims not in spec.spatial_dims:
        supported = " or ".join(f"{d}D" for d in spec.spatial_dims)
        raise MedlearnInputError(f"{spec.title} works on {supported} images only, not {dims}D.")
    if input_size is not None:
        positive_int(input_size, "input_size")
        check_spatial_size((input_size,), spec.title, spec.size_multiple, spec.min_size)
    unknown = sorted(set(config) - set(spec.config_keys()))
    if unknown:
        known = ", ".join(spec.config_keys()) or "none"
        raise MedlearnInputError(f"{spec.title} has no option {', '.join(unknown)}; its options: {known}.")
    return dims


def _build_pretrained(spec: ModelSpec, in_channels: int, num_classes: int, dims: int,
                      input_size: int | None, config: dict) -> nn.Module:
    path = _pretrained.cached_imagenet_file(spec.name)  # raises with the reason when absent
    model = _build(spec, in_channels=in_channels, num_classes=num_classes, spatial_dims=dims,
                   width=_pretrained.PUBLISHED_WIDTH, input_size=input_size, **config)
    report = _pretrained.load_matching(model, _pretrained.read_state_dict(path))
    model = _finish(model, spec, in_channels, dims, _pretrained.IMAGENET_CACHED)
    model.medlearn_weights_detail = report.describe()
    return model


def _finish(model: Any, spec: ModelSpec, in_channels: int, dims: int, weights: str) -> Any:
    model.medlearn_weights = weights
    model.medlearn_spec = spec.name
    if isinstance(model, nn.Module):
        model.register_forward_pre_hook(
            InputCheck(spec.title, in_channels, dims, spec.size_multiple, spec.min_size))
    return model
