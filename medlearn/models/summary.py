"""Architecture gallery data: layers, output shapes and parameter counts.

``describe_model`` runs one dummy batch through the model with forward hooks on the
modules of interest, records each output shape, and removes every hook afterwards
(also on error), restoring the model's train/eval mode.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medlearn.errors import MedlearnInputError


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``)."""
    if not isinstance(model, nn.Module):
        raise MedlearnInputError("Only neural networks have parameters to count.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def describe_model(model: nn.Module, input_shape: tuple[int, ...],
                   max_depth: int | None = None) -> list[dict[str, Any]]:
    """One row per layer, in execution order.

    Args:
        model: any ``nn.Module``.
        input_shape: ``(B, C, H, W)`` or ``(B, C, D, H, W)`` of the dummy input.
        max_depth: describe modules at most this deep (1 = the model's children; a
            shallower leaf is still listed); None lists leaf modules only.

    Returns:
        Dicts with ``layer`` (dotted name), ``type`` (class name), ``output_shape``
        (tuple, first tensor of a tuple output) and ``params`` (including submodules).
    """
    if not isinstance(model, nn.Module):
        raise MedlearnInputError("The architecture gallery can only describe neural networks.")
    rows: list[dict[str, Any]] = []
    handles = [module.register_forward_hook(_recorder(rows, name, module))
               for name, module in _selected(model, max_depth)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(tuple(input_shape)))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return rows


def _selected(model: nn.Module, max_depth: int | None) -> list[tuple[str, nn.Module]]:
    chosen = []
    for name, module in model.named_modules():
        if not name:
            continue
        depth = name.count(".") + 1
        is_leaf = not any(True for _ in module.children())
        if (max_depth is None and is_leaf) or (max_depth is not None and (
                depth == max_depth or (depth < max_depth and is_leaf))):
            chosen.append((name, module))
    return chosen


def _recorder(rows: list, name: str, module: nn.Module):
    params = sum(p.numel() for p in module.parameters())

    def hook(_module: nn.Module, _inputs: tuple, output: Any) -> None:
        tensor = output[0] if isinstance(output, (tuple, list)) else output
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else ()
        rows.append({"layer": name, "type": type(module).__name__, "output_shape": shape,
                     "params": params})

    return hook
