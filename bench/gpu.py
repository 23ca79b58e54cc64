"""GPU benchmark: one prepared script, a few minutes on a CUDA machine.

``python -m bench.gpu`` (or ``python bench/gpu.py``) measures, on the device chosen by
``medlearn.train.device.pick_device``:

* training images/s of every case's default recipe (the case's first network
  architecture at its recipe input size and batch size) through the MedLearn ``Trainer``
  (mixed precision and channels-last, as the trainer does on CUDA);
* ResNet18 at 224 px, batch 64: training images/s and batch-1 inference latency with
  mixed precision + channels_last against plain fp32 (ratio = speed-up);

and writes JSON (device name, torch/CUDA/cuDNN versions, rows) to ``$OUT/gpu.json`` when
``$OUT`` is set and to ``bench/results/gpu.json``. Without CUDA it prints
``no CUDA device: skipped`` and exits 0. The inner functions take a ``device`` argument
so the test suite runs them on CPU with tiny sizes. Inputs are random tensors: speed
does not depend on what the images show.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make ``bench`` and ``medlearn`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from bench.common import RESULTS, Row, machine_info


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _dataset(case, model_dims: int, size: int, n: int):
    """Random images ``(n, C, *[size]*dims)`` in [0, 1] with class or label-map targets."""
    from medlearn.train.data import ArrayDataset

    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, case.task.in_channels, *([size] * model_dims), generator=g)
    k = case.task.num_classes
    shape = (n, *([size] * model_dims)) if case.task.is_segmentation else (n,)
    y = torch.randint(0, k, shape, generator=g)
    return ArrayDataset(x, y, [str(i) for i in range(n)], spacing=(1.0,) * model_dims)


def _fit_rate(model, data, config, epochs: int) -> list[float]:
    """Images/s of each training epoch after the first (warm-up), timed inside the Trainer."""
    from medlearn.train.trainer import Trainer

    trainer = Trainer(model, data, None, config)
    marks: dict[str, float] = {}
    rates: list[float] = []

    def start(t):
        _sync(t.device)
        marks["t0"] = time.perf_counter()

    def end(t):  # the trainer syncs once per batch (loss.item()), so the clock is honest
        if t.epoch > 0:
            rates.append(len(data) / (time.perf_counter() - marks["t0"]))

    trainer.set_callback("before_epoch", start)
    trainer.set_callback("after_epoch", end)
    trainer.fit()
    return rates


def recipe_throughput(case_key: str, device: str, epochs: int = 3, n_images: int | None = None,
                      input_size: int | None = None) -> Row:
    """Training images/s of a case's default recipe with the MedLearn Trainer on ``device``."""
    from medlearn.cases import get_case
    from medlearn.models import get_model
    from medlearn.train.config import TrainConfig
    from medlearn.train.plan import make_plan

    case = get_case(case_key)
    arch = case.recipe.first_network
    plan = make_plan(case, arch, "phantoms", input_size=input_size)
    n = n_images or max(4 * plan.batch_size, 256)
    data = _dataset(case, plan.model_dims, plan.input_size, n)
    torch.manual_seed(0)
    model = get_model(arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                      spatial_dims=plan.model_dims, width=plan.width, input_size=plan.input_size)
    config = TrainConfig(task=case.task.kind, num_classes=case.task.num_classes, epochs=epochs,
                         batch_size=plan.batch_size, device=device, hd95=False)
    rates = _fit_rate(model, data, config, epochs)
    size = f"{plan.input_size}{'^3' if plan.model_dims == 3 else 'px'}"
    return Row("gpu", f"{case.key} {arch} {size} b{plan.batch_size}: train", statistics.median(rates),
               "img/s median", target="report", extra={"epochs_timed": len(rates), "images": n})


def resnet_training(device: str, size: int = 224, batch: int = 64, steps: int = 20, epochs: int = 3) -> Row:
    """ResNet18 training images/s: mixed precision + channels_last against plain fp32."""
    from medlearn.models import get_model
    from medlearn.train.config import TrainConfig
    from medlearn.train.data import ArrayDataset

    g = torch.Generator().manual_seed(0)
    n = batch * steps
    data = ArrayDataset(torch.rand(n, 3, size, size, generator=g), torch.randint(0, 2, (n,), generator=g),
                        [str(i) for i in range(n)])
    rates = {}
    for mode, fast in (("fp32", False), ("amp+cl", True)):
        torch.manual_seed(0)
        model = get_model("resnet18", in_channels=3, num_classes=2, spatial_dims=2, input_size=size)
        config = TrainConfig(epochs=epochs, batch_size=batch, device=device, amp=fast, channels_last=fast)
        rates[mode] = statistics.median(_fit_rate(model, data, config, epochs))
    ratio = rates["amp+cl"] / rates["fp32"]
    return Row("gpu", f"resnet18 {size}px b{batch}: train amp+channels_last", rates["amp+cl"], "img/s median",
               baseline=rates["fp32"], ratio=ratio, target="report (speed-up)")


def resnet_latency(device: str, size: int = 224, repeat: int = 50, warmup: int = 10) -> list[Row]:
    """Batch-1 inference latency of ResNet18, mixed precision + channels_last against fp32."""
    from bench.common import time_calls
    from medlearn.models import get_model

    dev = torch.device(device)
    timings = {}
    for mode, fast in (("fp32", False), ("amp+cl", True)):
        torch.manual_seed(0)
        fmt = torch.channels_last if fast else torch.contiguous_format
        model = get_model("resnet18", in_channels=3, num_classes=2, spatial_dims=2, input_size=size)
        model = model.to(dev, memory_format=fmt).eval()
        x = torch.rand(1, 3, size, size, device=dev).contiguous(memory_format=fmt)

        def call(model=model, x=x, fast=fast):
            with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.float16,
                                                        enabled=fast and dev.type == "cuda"):
                out = model(x)
            _sync(dev)
            return out

        timings[mode] = time_calls(call, repeat=repeat, warmup=warmup)
    base, fast = timings["fp32"], timings["amp+cl"]
    return [Row("gpu", f"resnet18 {size}px b1: inference amp+channels_last", fast.median, "ms median",
                baseline=base.median, ratio=fast.median / base.median, target="report",
                extra={"p95_ms": fast.p95, "fp32_p95_ms": base.p95})]


def collect(device: str, cases: list[str] | None = None, quick: bool = False) -> list[Row]:
    """Every measurement on ``device`` (``quick``: tiny sizes, for the CPU smoke test)."""
    from medlearn.cases import list_cases

    keys = cases if cases is not None else [c.key for c in list_cases(studies=True)]
    tiny = {"epochs": 2, "n_images": 8, "input_size": 32} if quick else {}
    rows = [recipe_throughput(k, device, **tiny) for k in keys]
    size, batch = (32, 4) if quick else (224, 64)
    rows.append(resnet_training(device, size=size, batch=batch, steps=2 if quick else 20,
                                epochs=2 if quick else 3))
    rows.extend(resnet_latency(device, size=size, repeat=3 if quick else 50, warmup=1 if quick else 10))
    return rows


def versions(device: torch.device) -> dict:
    """Device name and the library versions the numbers belong to."""
    cuda = device.type == "cuda"
    return {"device": str(device), "device_name": torch.cuda.get_device_name(device) if cuda else "cpu",
            "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None}


def write(rows: list[Row], info: dict) -> list[Path]:
    """``bench/results/gpu.json`` and ``$OUT/gpu.json`` (when ``$OUT`` is set)."""
    blob = json.dumps({"machine": machine_info(), "versions": info, "rows": [asdict(r) for r in rows]},
                      indent=2)
    targets = [RESULTS / "gpu.json"]
    if os.environ.get("OUT"):
        targets.append(Path(os.environ["OUT"]) / "gpu.json")
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(blob)
    return targets


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: skipped")
        return 0
    from bench.common import format_table
    from medlearn.train.device import pick_device

    device = pick_device()
    torch.backends.cudnn.benchmark = True
    info = versions(device)
    print(f"[gpu] {info}", flush=True)
    rows = collect(str(device))
    print(format_table(rows))
    for path in write(rows, info):
        print(f"[gpu] wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
