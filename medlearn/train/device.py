"""Where tensors live: the one device helper shared by training and prediction."""

from __future__ import annotations

import os

import torch

from medlearn.errors import MedlearnInputError


def pick_device(preferred: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then CPU.

    Args:
        preferred: ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"cpu"`` to force one; ``None``
            (or the environment variable ``MEDLEARN_DEVICE``) picks automatically.

    Raises:
        MedlearnInputError: the preferred device does not exist on this machine.
    """
    preferred = preferred or os.environ.get("MEDLEARN_DEVICE") or None
    if preferred:
        try:
            device = torch.device(preferred)
        except RuntimeError:
            raise MedlearnInputError(f"Unknown device {preferred!r}; use cuda, mps or cpu.") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise MedlearnInputError("CUDA was requested but no NVIDIA GPU is available here; use cpu.")
        if device.type == "mps" and not _mps_available():
            raise MedlearnInputError("MPS was requested but this is not an Apple-silicon Mac; use cpu.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
