"""Calibrate the phantoms' difficulty: train a small CNN per case and difficulty, print scores.

    python scripts/calibrate_phantoms.py [--cases retina breast ...] [--difficulties 0.2 0.5 0.8]
        [--n-train 300] [--n-val 100] [--epochs E] [--seed 0] [--json out.json]

For each case and difficulty: ``n_train + n_val`` phantoms are drawn at the recipe's
input size (``medlearn.cases.<case>.Recipe.input_size``; ``--gen-size`` overrides),
turned into tensors exactly as training does (``medlearn.train.data.make_dataset``),
standardised per channel, and the recipe's first neural architecture (width 16, from
scratch) is trained with Adam (one-cycle schedule) for the recipe's epochs on ONE thread. The validation score is printed: accuracy,
quadratic kappa and AUC for classification, mean foreground Dice for segmentation.

Targets at the default difficulty 0.5 (see docs/PHANTOMS.md): accuracy 0.75-0.95 for
binary classification, 0.6-0.9 with kappa 0.7-0.9 for the ordinal retina grades,
Dice 0.7-0.9 for segmentation; and scores should fall as difficulty rises.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from medlearn.cases import get_case  # noqa: E402
from medlearn.data.phantoms import generate, list_generators  # noqa: E402
from medlearn.metrics import classification_metrics, classification_loss, segmentation_loss  # noqa: E402
from medlearn.metrics import segmentation_metrics  # noqa: E402
from medlearn.models import get_model, list_models  # noqa: E402
from medlearn.train.data import make_dataset  # noqa: E402


def pick_arch(case) -> tuple[str, int]:
    """The recipe's first torch architecture that fits the case, and its spatial dims."""
    specs = {s.name: s for s in list_models()}
    for name in case.recipe.architectures:
        spec = specs.get(name)
        if spec is None or spec.framework != "torch":
            continue
        dims = [d for d in spec.spatial_dims if d in case.task.model_dims]
        if dims:
            return name, max(dims) if case.task.spatial_dims in dims else dims[0]
    raise SystemExit(f"no torch architecture in the {case.key} recipe")


def load(case, n: int, seed: int, difficulty: float, size: int, input_size: int, dims: int):
    """``n`` phantoms as a dataset of ``(C, *spatial)`` tensors and targets."""
    items = generate(case.key, n=n, seed=seed, difficulty=difficulty, size=size)
    return make_dataset(items, case, input_size, dims)


def standardise(train, val) -> None:
    """Per-channel zero mean, unit variance from the training images (both sets, in place)."""
    dims = [0] + list(range(2, train.images.ndim))
    mean, std = train.images.mean(dims, keepdim=True), train.images.std(dims, keepdim=True) + 1e-6
    train.images, val.images = (train.images - mean) / std, (val.images - mean) / std


def fit(model, data, case, epochs: int, batch: int, lr: float, seed: int) -> None:
    """Adam with cosine decay on cross-entropy (classification) or Dice + CE (segmentation).

    No augmentation; the decay to zero leaves a settled model, so one run's score does not
    depend on where in a noisy last epoch training stopped.
    """
    seg = case.task.is_segmentation
    loss_fn = segmentation_loss() if seg else classification_loss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    x, y = data.images, data.targets
    steps = epochs * -(-len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            opt.zero_grad()
            logits = model(x[idx])
            loss = loss_fn(logits, y[idx][:, None] if seg else y[idx])
            loss.backward()
            opt.step()
            sched.step()


@torch.no_grad()
def score(model, data, case) -> dict:
    model.eval()
    logits = torch.cat([model(xb) for xb in data.images.split(32)])
    if case.task.is_segmentation:
        pred = logits.argmax(1).numpy()
        m = segmentation_metrics(pred, data.targets.numpy(), case.task.num_classes, hd95=False)
        return {"dice": round(m["dice"], 3)}
    m = classification_metrics(data.targets.numpy(), torch.softmax(logits, 1).numpy(), ordinal=case.task.ordinal)
    out = {"accuracy": round(m["accuracy"], 3), "auc": round(m["auc"], 3), "confusion": m["confusion"]}
    if case.task.ordinal:
        out["kappa"] = round(m["kappa"], 3)
    return out


def run_case(key: str, args) -> list[dict]:
    case = get_case(key)
    arch, dims = pick_arch(case)
    r = case.recipe
    input_size = args.input_size or r.input_size
    size = args.gen_size or input_size
    epochs = args.epochs or r.epochs
    rows = []
    for d in args.difficulties:
        t0 = time.perf_counter()
        train = load(case, args.n_train, args.seed, d, size, input_size, dims)
        val = load(case, args.n_val, args.seed + 1000, d, size, input_size, dims)
        t_gen = time.perf_counter() - t0
        standardise(train, val)
        torch.manual_seed(args.seed)
        model = get_model(arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                          spatial_dims=dims, width=args.width, input_size=input_size)
        fit(model, train, case, epochs, r.batch_size, r.learning_rate, args.seed)
        row = {"case": key, "arch": arch, "difficulty": d, "input_size": input_size, "epochs": epochs,
               "n_train": len(train), "n_val": len(val), **score(model, val, case),
               "gen_s": round(t_gen, 1), "total_s": round(time.perf_counter() - t0, 1)}
        if not case.task.is_segmentation:
            row["val_prior"] = np.bincount(val.targets.numpy(), minlength=case.task.num_classes).tolist()
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(list_generators()), choices=list(list_generators()))
    p.add_argument("--difficulties", nargs="+", type=float, default=[0.2, 0.5, 0.8])
    p.add_argument("--n-train", type=int, default=300)
    p.add_argument("--n-val", type=int, default=100)
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--input-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--gen-size", type=int, default=None, help="phantom size before resizing (default: input size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write all rows to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [row for key in args.cases for row in run_case(key, args)]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
