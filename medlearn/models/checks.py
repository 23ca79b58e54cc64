"""Input checks that turn shape mistakes into messages a student understands.

:class:`InputCheck` is attached to every model :func:`~medlearn.models.get_model`
builds (a forward pre-hook), so a wrong tensor raises
:class:`~medlearn.errors.MedlearnInputError` before PyTorch's own, cryptic error.
It is a module-level class, so models carrying it still pickle and deep-copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from medlearn.errors import MedlearnInputError


@dataclass(frozen=True)
class InputCheck:
    """Forward pre-hook checking ``(B, C, *spatial)`` against what the model was built for."""

    title: str
    in_channels: int
    spatial_dims: int
    size_multiple: int = 1
    min_size: int = 16

    def __call__(self, module: torch.nn.Module, args: tuple) -> None:
        if not args or not isinstance(args[0], torch.Tensor):
            raise MedlearnInputError(f"{self.title} expects a tensor as input.")
        check_input_shape(tuple(args[0].shape), self)


def check_input_shape(shape: tuple[int, ...], check: InputCheck) -> None:
    """Raise :class:`MedlearnInputError` unless ``shape`` is ``(B, C, *spatial)`` as expected."""
    layout = "(B, C, H, W)" if check.spatial_dims == 2 else "(B, C, D, H, W)"
    if len(shape) != check.spatial_dims + 2:
        raise MedlearnInputError(
            f"{check.title} was built for {check.spatial_dims}D images and expects a batch shaped "
            f"{layout}; got a tensor of shape {tuple(shape)}.")
    if shape[1] != check.in_channels:
        raise MedlearnInputError(
            f"{check.title} was built for {check.in_channels}-channel images but got {shape[1]} "
            "channels (grey images have 1 channel, colour pictures 3).")
    check_spatial_size(shape[2:], check.title, check.size_multiple, check.min_size)


def check_spatial_size(sizes: tuple[int, ...], title: str, multiple: int, min_size: int) -> None:
    """Raise :class:`MedlearnInputError` for sizes too small or not a multiple of ``multiple``."""
    if any(s < min_size for s in sizes):
        raise MedlearnInputError(
            f"{title} needs images of at least {min_size} pixels per side; got {tuple(sizes)}. "
            "Choose a larger input size.")
    if multiple > 1 and any(s % multiple for s in sizes):
        raise MedlearnInputError(
            f"{title} halves the image several times, so each side must be a multiple of "
            f"{multiple}; got {tuple(sizes)}. Try 32, 64, 96 or 128.")


def positive_int(value: object, what: str, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``, or :class:`MedlearnInputError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MedlearnInputError(f"{what} must be a whole number of at least {minimum}; got {value!r}.")
    return value
