"""Tiny models, tiny synthetic items and a tiny job target for the training tests.

Importable by name from worker processes (``spawn``) and ``torchrun`` ranks, which get
this folder on their ``sys.path``/``PYTHONPATH``.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from medlearn.data.image import MedImage


class TinyClassifier(nn.Module):
    """conv -> global average pool -> linear: logits ``(B, K)``."""

    def __init__(self, in_channels=1, num_classes=2, spatial_dims=2, width=4, **_):
        super().__init__()
        conv = nn.Conv3d if spatial_dims == 3 else nn.Conv2d
        self.features = nn.Sequential(conv(in_channels, width, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(2).mean(-1))


class TinySegmenter(nn.Module):
    """Two convolutions: logits ``(B, K, *spatial)``."""

    def __init__(self, in_channels=1, num_classes=2, spatial_dims=2, width=4, **_):
        super().__init__()
        conv = nn.Conv3d if spatial_dims == 3 else nn.Conv2d
        self.net = nn.Sequential(conv(in_channels, width, 3, padding=1), nn.ReLU(),
                                 conv(width, num_classes, 1))

    def forward(self, x):
        return self.net(x)


def build(name: str = "tiny", **kwargs) -> nn.Module:
    """A builder with ``get_model``'s keywords (used by ``load_checkpoint(builder=...)``)."""
    return TinyClassifier(**kwargs)


def build_classifier(**kwargs) -> nn.Module:
    """For ``--arch train_helpers:build_classifier`` in the DDP test."""
    return TinyClassifier(**kwargs)


def blob_items(n: int, size: int = 12, depth: int | None = None, colour: bool = False, seed: int = 0):
    """Items with a bright square on noise; label 1 and mask where the square is big."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        shape = (size, size) if depth is None else (depth, size, size)
        pixels = rng.normal(0, 0.2, shape).astype(np.float32)
        mask = np.zeros(shape, np.int64)
        half = 2 + (i % 2) * 2
        region = (slice(None),) * (len(shape) - 2) if depth is None else (slice(depth // 3, 2 * depth // 3),)
        region += (slice(size // 2 - half, size // 2 + half),) * 2
        mask[region] = 1
        pixels[mask > 0] += 2.0
        if colour:
            pixels = np.clip(np.stack([pixels] * 3, -1) * 60 + 80, 0, 255).astype(np.uint8)
        image = MedImage(pixels, modality="OP" if colour else "MR")
        items.append(SimpleNamespace(id=f"s{i:03d}", image=image, label=i % 2, mask=mask))
    return items


def tensors(n: int = 16, size: int = 8, num_classes: int = 2, segmentation: bool = False, seed: int = 0):
    """Random ``(images (N, 1, size, size), targets)`` tensors."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size, size, generator=g)
    y = (x[:, 0] > 0.5).long() if segmentation else torch.arange(n) % num_classes
    return x, y


class Slow:
    """A callback that sleeps per training batch, so a test can act mid-epoch."""

    order = 60

    def __init__(self, seconds: float):
        self.seconds = seconds

    def after_batch(self, trainer):
        if trainer.training:
            time.sleep(self.seconds)


def fit_tiny(case_key, arch, source, callbacks=(), store=None, run_id=None, epochs: int = 2,
             delay: float = 0.0, checkpoint: str | None = None, fail: bool = False):
    """A job target with ``train_recipe``'s calling convention, on random tensors."""
    from medlearn.train.callbacks import Checkpointing, RunLogging
    from medlearn.train.config import TrainConfig
    from medlearn.train.data import ArrayDataset
    from medlearn.train.trainer import Trainer

    if fail:
        raise ValueError("deliberate failure")
    x, y = tensors(32)
    data = ArrayDataset(x, y, [str(i) for i in range(len(x))])
    extra = [RunLogging(store, run_id), Slow(delay), *callbacks]
    meta = {"name": "tiny", "in_channels": 1, "num_classes": 2, "spatial_dims": 2, "width": 4,
            "input_size": 8}
    if checkpoint:
        extra.append(Checkpointing(Path(checkpoint), meta))
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=epochs, batch_size=4), extra)
    history = trainer.fit()
    store.finish(run_id, trainer.status, metrics=history[-1] if history else {}, checkpoint=checkpoint)
    return store.get_run(run_id)
