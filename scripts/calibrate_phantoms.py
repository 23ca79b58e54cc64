"""Calibrate the phantoms' difficulty: train a small CNN per case and difficulty, print scores.

    python scripts/calibrate_phantoms.py [--cases retina breast ...] [--difficulties 0.2 0.5 0.8]
        [--n-train 300] [--n-val 100] [--epochs E] [--arch NAME] [--dims 2|3] [--budget-s 300]
        [--lr LR] [--seed 0] [--json out.json]

For each case and difficulty: ``n_train + n_val`` phantoms are drawn at the recipe's
input size (``medlearn.cases.<case>.Recipe.input_size``; ``--gen-size`` overrides),
turned into tensors exactly as training does (``medlearn.train.data.make_dataset``),
standardised per channel, and the recipe's first neural architecture (width 16, from
scratch) is trained with Adam (one-cycle schedule peaking at the recipe's learning rate)
for the recipe's epochs on ONE thread. The validation score is printed: accuracy,
quadratic kappa and AUC for classification; for segmentation the mean and per-label
foreground Dice (per image, as training reports it), ``dice_foreground`` (every
foreground label merged into one: finding the structure, apart from telling its parts
apart) and, for 2D models of a 3D case, ``dice_volume`` (the slices stacked back and
scored per volume, as 3D models and published figures are). Progress goes to stderr
once per epoch; ``--budget-s`` caps the training time of each (case, difficulty) run
(the cosine schedule is laid out for the planned epochs, so a cut run reports
``epochs_done`` < ``epochs``). ``--arch``/``--dims`` pick another network of the recipe
(e.g. ``--arch resnet3d`` on lung cubes, ``--arch unet3d`` on hippocampus volumes).

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
from medlearn.train.recorder import slice_groups  # noqa: E402
from medlearn.models import get_model, list_models  # noqa: E402
from medlearn.train.data import make_dataset  # noqa: E402


def pick_arch(case, arch: str | None = None, dims: int | None = None) -> tuple[str, int]:
    """The recipe's first torch architecture that fits the case (or ``arch``), and its spatial dims."""
    specs = {s.name: s for s in list_models()}
    if arch is not None:
        spec = specs.get(arch)
        if spec is None or spec.framework != "torch":
            raise SystemExit(f"{arch!r} is not a torch architecture")
        fit_dims = [d for d in spec.spatial_dims if d in case.task.model_dims and dims in (None, d)]
        if not fit_dims:
            raise SystemExit(f"{arch!r} does not fit the {case.key} case in {dims or 'any'}D")
        return arch, max(fit_dims)
    for name in case.recipe.architectures:
        spec = specs.get(name)
        if spec is None or spec.framework != "torch":
            continue
        fit_dims = [d for d in spec.spatial_dims if d in case.task.model_dims and dims in (None, d)]
        if fit_dims:
            return name, max(fit_dims) if case.task.spatial_dims in fit_dims else fit_dims[0]
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


def fit(model, data, case, epochs: int, batch: int, lr: float, seed: int, budget_s: float = float("inf"),
        tag: str = "") -> int:
    """Adam with cosine decay on cross-entropy (classification) or Dice + CE (segmentation).

    No augmentation; the decay to zero leaves a settled model, so one run's score does not
    depend on where in a noisy last epoch training stopped. Prints the mean loss per epoch
    to stderr and stops after the epoch that exceeds ``budget_s``; returns the epochs done.
    """
    seg = case.task.is_segmentation
    loss_fn = segmentation_loss() if seg else classification_loss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    x, y = data.images, data.targets
    steps = epochs * -(-len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        losses = []
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            opt.zero_grad()
            logits = model(x[idx])
            loss = loss_fn(logits, y[idx][:, None] if seg else y[idx])
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        spent = time.perf_counter() - t0
        print(f"  {tag} epoch {epoch + 1}/{epochs} loss {np.mean(losses):.3f} ({spent:.0f} s)",
              file=sys.stderr, flush=True)
        if spent > budget_s:
            return epoch + 1
    return epochs


@torch.no_grad()
def score(model, data, case) -> dict:
    model.eval()
    logits = torch.cat([model(xb) for xb in data.images.split(32)])
    if case.task.is_segmentation:
        pred = logits.argmax(1).numpy()
        m = segmentation_metrics(pred, data.targets.numpy(), case.task.num_classes, hd95=False,
                                 class_names=case.task.class_names)
        # every foreground label as one: finding the structure, apart from telling its parts apart
        fg = segmentation_metrics(pred > 0, data.targets.numpy() > 0, 2, hd95=False)["dice"]
        out = {"dice": round(m["dice"], 3),
               "dice_per_class": {k: round(float(v), 3) for k, v in m["dice_per_class"].items()},
               "dice_foreground": round(fg, 3)}
        volumes = slice_groups(data.ids, len(pred))
        if volumes:  # 2D model on slices: also stack them back per volume
            out["dice_volume"] = round(volume_dice(pred, data.targets.numpy(), volumes, case), 3)
        return out
    m = classification_metrics(data.targets.numpy(), torch.softmax(logits, 1).numpy(), ordinal=case.task.ordinal)
    out = {"accuracy": round(m["accuracy"], 3), "auc": round(m["auc"], 3), "confusion": m["confusion"]}
    if case.task.ordinal:
        out["kappa"] = round(m["kappa"], 3)
    return out


def volume_dice(pred: np.ndarray, truth: np.ndarray, volumes: list[list[int]], case) -> float:
    """Mean foreground Dice per volume of slice predictions (rows grouped by
    ``medlearn.train.recorder.slice_groups``), as 3D models and published hippocampus figures
    are scored. Only the slices in the set count (all those with foreground and some background
    ones), so false positives elsewhere in a volume are missed."""
    k = case.task.num_classes
    scores = [segmentation_metrics(pred[rows][None], truth[rows][None], k, hd95=False)["dice"]
              for rows in volumes]
    return float(np.mean(scores))


def run_case(key: str, args) -> list[dict]:
    case = get_case(key)
    arch, dims = pick_arch(case, args.arch, args.dims)
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
        print(f"  {key} d={d}: {len(train)}/{len(val)} items in {t_gen:.0f} s; training {arch} {dims}D",
              file=sys.stderr, flush=True)
        standardise(train, val)
        torch.manual_seed(args.seed)
        model = get_model(arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                          spatial_dims=dims, width=args.width, input_size=input_size)
        batch = r.batch_size_2d if dims == 2 and getattr(r, "batch_size_2d", None) else r.batch_size
        lr = args.lr or r.learning_rate
        done = fit(model, train, case, epochs, batch, lr, args.seed, args.budget_s, f"{key} d={d}")
        row = {"case": key, "arch": arch, "dims": dims, "difficulty": d, "input_size": input_size,
               "epochs": epochs, "epochs_done": done, "lr": lr,
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
    p.add_argument("--arch", default=None, help="default: the recipe's first torch architecture")
    p.add_argument("--dims", type=int, default=None, choices=(2, 3), help="spatial dims of the model")
    p.add_argument("--budget-s", type=float, default=300.0, help="training time cap per run (s)")
    p.add_argument("--input-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the recipe's)")
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
