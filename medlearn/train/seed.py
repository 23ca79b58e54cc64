"""Reproducibility: one call fixes every random number generator training touches."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and all GPUs).

    Returns:
        A ``torch.Generator`` seeded with ``seed`` for data loader shuffling, so the
        batch order does not depend on how much randomness the model consumed.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
