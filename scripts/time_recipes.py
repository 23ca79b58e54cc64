"""Estimate how long each case's default recipe takes to train on an idle 2-core CPU.

    python scripts/time_recipes.py [--cases breast lung ...] [--archs unet ...] [--fraction 0.25]
        [--threads 2] [--json out.json]

Method (the machine this was calibrated on is shared, so wall time is noise): for every
default architecture of a case, a short run of the real pipeline (phantom generation,
``make_dataset``, the registry's model, :class:`Trainer` with checkpointing) is made on a
fraction of the recipe's items for ONE epoch, with ``torch.set_num_threads(threads)``.
The process's CPU time (``time.process_time``: user + system of all its threads) is read
at each stage and extrapolated linearly to the full recipe:

    full = prep x (items / sampled items) + epochs x (train x (train items / sampled)
           + validation x (val items / sampled) + checkpoint)

and divided by ``threads`` as the wall time on an idle machine with that many cores
(an optimistic bound when the code does not keep both cores busy). OpenMP runs with
``OMP_WAIT_POLICY=PASSIVE`` so that threads waiting on a busy machine do not count
spinning as work. Wall time of the
short run is printed too. The limit the recipes are sized for is 180 s per model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning: on a loaded machine a spinning thread
# waiting for its descheduled partner burns CPU time that is not work (seen: 4x).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from medlearn.cases import get_case, list_cases  # noqa: E402
from medlearn.train.callbacks import Checkpointing  # noqa: E402
from medlearn.train.config import TrainConfig  # noqa: E402
from medlearn.train.events import Callback  # noqa: E402
from medlearn.train.plan import make_plan  # noqa: E402
from medlearn.train.recipes import _fit_classic, model_meta, prepare_data  # noqa: E402
from medlearn.train.store import RunStore  # noqa: E402
from medlearn.train.trainer import Trainer  # noqa: E402

LIMIT_S = 180.0


class Clock(Callback):
    """CPU and wall time at the trainer's events (runs after every other callback)."""

    order = 1000

    def __init__(self):
        self.cpu: dict[str, float] = {}

    def _mark(self, name: str) -> None:
        self.cpu[name] = time.process_time()

    def before_fit(self, trainer):
        self._mark("fit")

    def before_validate(self, trainer):
        self._mark("val")

    def after_validate(self, trainer):
        self._mark("val_end")

    def after_epoch(self, trainer):
        self._mark("epoch_end")


def time_arch(case, arch: str, fraction: float, folder: Path) -> dict:
    """One short run of ``arch`` and its extrapolation to the case's full recipe."""
    full = make_plan(case, arch, "phantoms")
    n_train = max(8, round(full.n_train * fraction))
    n_val = max(4, round(full.n_val * fraction))
    plan = make_plan(case, arch, "phantoms", epochs=1, n_train=n_train, n_val=n_val,
                     batch_size=full.batch_size)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    train, val, train_items, val_items = prepare_data(plan, case)
    cpu_prep = time.process_time() - cpu0
    scale_items = (full.n_train + full.n_val) / (n_train + n_val)
    store = RunStore(folder / "runs.sqlite")
    run_id = store.create_run(case.key, arch, "phantoms", plan.to_dict())
    path = folder / f"{case.key}-{arch}.safetensors"
    row = {"case": case.key, "arch": arch, "model_dims": plan.model_dims, "input_size": plan.input_size,
           "epochs": full.epochs, "batch_size": full.batch_size, "n_train": full.n_train, "n_val": full.n_val,
           "sampled_train": n_train, "sampled_val": n_val, "train_rows": len(train), "val_rows": len(val)}
    if arch == "classic":
        cpu1 = time.process_time()
        _fit_classic(plan, case, train_items, val_items, path, store, run_id)
        est = cpu_prep * scale_items + (time.process_time() - cpu1) * scale_items
        row.update(cpu_prep=cpu_prep, cpu_fit=time.process_time() - cpu1)
    else:
        from medlearn.models import get_model

        model = get_model(arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                          spatial_dims=plan.model_dims, width=plan.width, input_size=plan.input_size)
        config = TrainConfig(task=case.task.kind, num_classes=case.task.num_classes, epochs=1,
                             batch_size=plan.batch_size, learning_rate=plan.learning_rate,
                             ordinal=case.task.ordinal, spacing=train.spacing, class_names=case.task.class_names)
        clock = Clock()
        history = Trainer(model, train, val, config, [Checkpointing(path, model_meta(plan, case)), clock]).fit()
        c = clock.cpu
        cpu_train, cpu_val, cpu_ckpt = c["val"] - c["fit"], c["val_end"] - c["val"], c["epoch_end"] - c["val_end"]
        est = (cpu_prep * scale_items + full.epochs * (cpu_train * full.n_train / n_train
                                                        + cpu_val * full.n_val / n_val + cpu_ckpt))
        row.update(cpu_prep=cpu_prep, cpu_train_epoch=cpu_train, cpu_val=cpu_val, cpu_checkpoint=cpu_ckpt,
                   short_run_metrics={k: v for k, v in history[-1].items() if isinstance(v, float)})
    row.update(short_run_wall_s=time.perf_counter() - wall0, estimated_cpu_s=est)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="*", help="case keys (default: all)")
    p.add_argument("--archs", nargs="*", help="only these architectures")
    p.add_argument("--fraction", type=float, default=0.25, help="share of the recipe's items to run (0.25)")
    p.add_argument("--threads", type=int, default=2, help="torch threads = cores of the target machine (2)")
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cases = [get_case(k) for k in args.cases] if args.cases else list_cases(studies=True)
    rows = []
    print(f"{'case':<12} {'arch':<10} {'dims':>4} {'size':>4} {'ep':>3} {'rows':>9} {'short wall':>10} "
          f"{'est. cpu':>9} {'est. wall':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            for arch in case.recipe.architectures:
                if args.archs and arch not in args.archs:
                    continue
                row = time_arch(case, arch, args.fraction, Path(tmp))
                row["estimated_wall_s"] = row["estimated_cpu_s"] / args.threads
                row["threads"] = args.threads
                rows.append(row)
                flag = "" if row["estimated_wall_s"] <= LIMIT_S else "  OVER"
                print(f"{case.key:<12} {arch:<10} {row['model_dims']:>4} {row['input_size']:>4} {row['epochs']:>3} "
                      f"{row['train_rows']:>4}/{row['val_rows']:<4} {row['short_run_wall_s']:>9.1f}s "
                      f"{row['estimated_cpu_s']:>8.1f}s {row['estimated_wall_s']:>8.1f}s{flag}", flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
