"""Multi-GPU (or multi-process CPU) training with DistributedDataParallel, under ``torchrun``.

Run it as::

    torchrun --nproc_per_node 2 -m medlearn.train.ddp --case breast --arch resnet18 --out ckpt.safetensors

(``python -m torch.distributed.run`` is the same launcher). Each rank trains on its
shard of the data (``DistributedSampler``); gradients are averaged by DDP; every rank
validates the unwrapped model on the whole validation set (no collectives, so all ranks
take the same early-stopping decision); only rank 0 writes the checkpoint and the run
store. Backend: NCCL on CUDA, gloo on CPU.

``--data`` takes a source name (``phantoms``...) or an ``.npz`` file of prepared arrays
(``images`` ``(N, C, *spatial)``, ``targets``, optional ``val_images``/``val_targets``),
read with ``allow_pickle=False``. ``--arch`` takes a registry name or, for research and
tests, ``package.module:function`` (a builder with ``get_model``'s keyword arguments).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from medlearn.errors import MedlearnError, MedlearnInputError
from medlearn.train.callbacks import Checkpointing, RunLogging
from medlearn.train.config import TrainConfig
from medlearn.train.data import ArrayDataset
from medlearn.train.trainer import Trainer


def shard(train, seed: int) -> DistributedSampler:
    """This rank's shard of the training items each epoch (the process group must be initialised)."""
    return DistributedSampler(train, num_replicas=dist.get_world_size(), rank=dist.get_rank(), shuffle=True,
                              seed=seed)


def wrap(trainer: Trainer, find_unused: bool = False) -> Trainer:
    """Wrap the trainer's model in ``DistributedDataParallel`` on its device (call it after any
    resume state is loaded: the constructor gives every rank rank 0's weights).
    ``find_unused``: some parameters get no gradient in a step (a detector's idle heads)."""
    device_ids = [trainer.device.index] if trainer.device.type == "cuda" else None
    trainer.model = DistributedDataParallel(trainer.model, device_ids=device_ids, find_unused_parameters=find_unused)
    return trainer


def ddp_fit(model: torch.nn.Module, train: ArrayDataset, val: ArrayDataset | None, config: TrainConfig,
            out: str | Path, meta: dict, callbacks=()) -> Trainer:
    """Train ``model`` on this rank (the process group must be initialised); rank 0 saves ``out``."""
    rank = dist.get_rank()
    if torch.cuda.is_available() and config.device in (None, "cuda"):
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        config.device = f"cuda:{local}"
    extra = [Checkpointing(out, meta), *callbacks] if rank == 0 else []
    trainer = wrap(Trainer(model, train, val, config, extra, sampler=shard(train, config.seed)))
    trainer.fit()
    dist.barrier()
    return trainer


def _builder(arch: str):
    if ":" not in arch:
        from medlearn.models import get_model

        return get_model
    module, _, name = arch.partition(":")
    build = getattr(importlib.import_module(module), name)
    return lambda _name, **kw: build(**kw)


def _npz_data(path: str, task: str) -> tuple[ArrayDataset, ArrayDataset | None]:
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MedlearnInputError(f"Cannot read prepared data {path}: {exc}") from None
    def dataset(x: str, y: str) -> ArrayDataset:
        images = torch.as_tensor(arrays[x], dtype=torch.float32)
        targets = torch.as_tensor(arrays[y], dtype=torch.long)
        return ArrayDataset(images, targets, [str(i) for i in range(len(images))])

    val = dataset("val_images", "val_targets") if "val_images" in arrays else None
    return dataset("images", "targets"), val


def _setup(args) -> tuple:
    """``(model, train, val, config, meta)`` from the command line."""
    if args.data.endswith(".npz"):
        train, val = _npz_data(args.data, args.task)
        num_classes = args.num_classes or int(train.targets.max()) + 1
        config = TrainConfig(task=args.task, num_classes=num_classes, epochs=args.epochs or 1,
                             batch_size=args.batch_size or 8, seed=args.seed, num_threads=1)
        meta = {"name": args.arch, "in_channels": int(train.images.shape[1]), "num_classes": num_classes,
                "spatial_dims": train.images.ndim - 2, "width": args.width or 16,
                "input_size": int(train.images.shape[-1]), "case": args.case, "source": args.data}
    else:
        from medlearn.cases import get_case
        from medlearn.train.plan import make_plan
        from medlearn.train.recipes import model_meta, prepare_data

        case = get_case(args.case)
        plan = make_plan(case, args.arch, args.data, epochs=args.epochs, input_size=args.input_size,
                         seed=args.seed, width=args.width, batch_size=args.batch_size)
        train, val, _, _ = prepare_data(plan, case)
        config = TrainConfig(task=case.task.kind, num_classes=case.task.num_classes, epochs=plan.epochs,
                             batch_size=plan.batch_size, learning_rate=plan.learning_rate, seed=plan.seed,
                             ordinal=case.task.ordinal, spacing=train.spacing,
                             class_names=case.task.class_names)
        meta = model_meta(plan, case)
    torch.manual_seed(args.seed)
    kwargs = {k: meta[k] for k in ("in_channels", "num_classes", "spatial_dims", "width", "input_size")}
    return _builder(args.arch)(args.arch, **kwargs), train, val, config, meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="torchrun ... -m medlearn.train.ddp", description=__doc__.split("\n")[0])
    p.add_argument("--case", required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--data", default="phantoms", help="source name or prepared .npz file")
    p.add_argument("--task", default="classification", choices=("classification", "segmentation"))
    p.add_argument("--num-classes", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--input-size", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="checkpoint path (.safetensors), written by rank 0")
    p.add_argument("--store", help="run store database (default: the data home's); 'none' to skip")
    args = p.parse_args(argv)
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        model, train, val, config, meta = _setup(args)
        callbacks, store, run_id = [], None, None
        if rank == 0 and args.store != "none":
            from medlearn.train.store import RunStore

            store = RunStore(args.store)
            settings = {**config.to_dict(), "world_size": world}
            run_id = store.create_run(args.case, args.arch, args.data, settings)
            callbacks.append(RunLogging(store, run_id))
        trainer = ddp_fit(model, train, val, config, args.out, meta, callbacks)
        if store is not None:
            store.finish(run_id, trainer.status, metrics=trainer.history[-1] if trainer.history else {},
                         checkpoint=args.out)
        seen = len(trainer.sampler) * len(trainer.history)
        print(f"[ddp] rank {rank}/{world} {trainer.status}: {seen} images over {len(trainer.history)} epochs",
              flush=True)
        return 0
    except MedlearnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
