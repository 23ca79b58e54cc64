"""Live training: MedLearn's trainer (metrics recorder, streaming to a listener, run store)
against a bare PyTorch loop on the same model, data, optimiser and batch size.

Target: trainer throughput (images/s) at least 0.95x the bare loop's. Rounds alternate
(bare, trainer, bare, trainer, ...) so machine drift hits both alike; the medians of
the per-round throughputs are compared.
"""

from __future__ import annotations

import queue
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from bench.common import Row
from medlearn.metrics import classification_loss
from medlearn.models import get_model
from medlearn.train.callbacks import RunLogging, Streaming
from medlearn.train.config import TrainConfig
from medlearn.train.data import ArrayDataset
from medlearn.train.store import RunStore
from medlearn.train.trainer import Trainer

N_IMAGES, SIZE, BATCH = 256, 64, 16


def _data() -> ArrayDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N_IMAGES, 1, SIZE, SIZE, generator=g)
    y = torch.randint(0, 2, (N_IMAGES,), generator=g)
    return ArrayDataset(x, y, [str(i) for i in range(N_IMAGES)])


def _model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return get_model(arch, in_channels=1, num_classes=2, spatial_dims=2, width=16, input_size=SIZE)


def _bare(arch: str, data, epochs: int) -> float:
    model = _model(arch)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    loss_fn = classification_loss()
    loader = DataLoader(data, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    model.train()
    t0 = time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            loss = loss_fn(model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
    return epochs * len(data) / (time.perf_counter() - t0)


def _trainer(arch: str, data, epochs: int, store: RunStore) -> float:
    model = _model(arch)
    run_id = store.create_run("breast", arch, "bench", {"bench": True})
    messages: queue.Queue = queue.Queue()
    cfg = TrainConfig(task="classification", num_classes=2, epochs=epochs, batch_size=BATCH, seed=0)
    trainer = Trainer(model, data, None, cfg, callbacks=[Streaming(messages.put), RunLogging(store, run_id)])
    t0 = time.perf_counter()
    trainer.fit()
    rate = epochs * len(data) / (time.perf_counter() - t0)
    store.finish(run_id, "done")
    return rate


def run(epochs: int = 2, rounds: int = 4, archs: tuple[str, ...] = ("resnet18", "alexnet")) -> list[Row]:
    data = _data()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs.sqlite")
        for arch in archs:
            _bare(arch, data, 1)  # warm-up: allocator, kernels
            bare, ours = [], []
            for _ in range(rounds):
                bare.append(_bare(arch, data, epochs))
                ours.append(_trainer(arch, data, epochs, store))
            b, o = statistics.median(bare), statistics.median(ours)
            rows.append(Row("training", f"{arch} {SIZE}px b{BATCH}: trainer+stream+store", o, "img/s median",
                            baseline=b, ratio=o / b, target="ratio >= 0.95", ok=o / b >= 0.95))
    return rows
