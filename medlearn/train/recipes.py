"""``train_recipe``: case + architecture + data source -> a trained checkpoint in the run store.

Defaults come from ``get_case(case).recipe``; the split depends only on the seed and the
items' ids, so every architecture of a race trains and validates on the same items.
Neural networks train through :class:`Trainer`; the classical baseline (``"classic"``)
trains through scikit-learn in one step, recorded as one epoch, through the same API.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterable

import torch

from medlearn.card import ModelCard, build_card
from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError, ModelUnavailableError, UnknownNameError
from medlearn.metrics import classification_metrics
from medlearn.preprocess import prepared_image
from medlearn.train.callbacks import Checkpointing, RunLogging, TimeBudget
from medlearn.train.checkpoints import atomic_write, checkpoint_path, load_resume_state, resume_path
from medlearn.train.checkpoints import checkpoint_root as default_checkpoint_root
from medlearn.train.config import TrainConfig
from medlearn.train.data import (ArrayDataset, make_dataset, preprocessing_for, split_items, standardise,
                                 training_share)
from medlearn.train.plan import RunPlan, make_plan, resolve_init, share_words
from medlearn.train.seed import seed_everything
from medlearn.train.store import RunRecord, RunStore
from medlearn.train.trainer import Trainer


def load_items(case, source: str, n: int, seed: int = 0, split: str = "all") -> list:
    """``n`` items of a case from a data source's ``split`` (phantoms are generated with ``seed``)."""
    if source == "phantoms":
        from medlearn.data.phantoms import generate

        return generate(case.key, n=n, seed=seed)
    from medlearn.data.sources import get_source

    items = get_source(source).load(case.key, split=split, limit=n)
    if len(items) < 2:
        raise MedlearnInputError(
            f"Source {source!r} gave {len(items)} item(s) for {case.title}; need at least 2.")
    return items


def split_data(plan: RunPlan, case=None) -> tuple[list, list]:
    """``(train_items, val_items)`` of a plan.

    A source that publishes its splits (MedMNIST: ``published_splits``) trains on its
    ``train`` split and validates on its ``val`` split, so its official ``test`` split stays
    unseen (``evaluate --split test`` measures there, as the published figures were).
    Otherwise the plan's items are split by patient (or item) and the seed, about a fifth
    for validation when the source has fewer items than asked for: on the mirror's small
    sets (4 Sunnybrook patients) every patient but the held-out ones trains, and nothing
    is chosen on the validation items of a segmenter, so its validation scores are held-out
    scores (a classifier's operating threshold is chosen there: its thresholded figures are
    optimistic, its AUC is not).
    """
    case = case or get_case(plan.case)
    if published_splits(plan.source):
        train = load_items(case, plan.source, plan.n_train, plan.seed, split="train")
        val = load_items(case, plan.source, plan.n_val, plan.seed, split="val")
    else:
        items = load_items(case, plan.source, plan.n_train + plan.n_val, plan.seed)
        n_val = min(plan.n_val, max(1, len(items) // 5)) if len(items) < plan.n_train + plan.n_val else plan.n_val
        train, val = split_items(items, n_val, plan.seed, fold=plan.fold_pair)
    return training_share(train, plan.train_fraction, plan.label_noise, case.task.num_classes, plan.seed), val


def published_splits(source: str) -> bool:
    """Whether a data source publishes train/val/test splits (MedMNIST): training keeps off its test."""
    if source == "phantoms":
        return False
    from medlearn.data.sources import get_source

    try:
        return bool(getattr(get_source(source), "published_splits", False))
    except UnknownNameError:  # a benchmark's or test's made-up source name
        return False


def split_rule(plan: RunPlan) -> str:
    """How :func:`split_data` chose a plan's training and validation items, in words."""
    share = f"; {share_words(plan)}" if share_words(plan) else ""
    if plan.source == "phantoms":
        return f"generated; split by seed {plan.seed}{share}"
    if published_splits(plan.source):
        return f"the dataset's official train and val splits; its test split unseen{share}"
    if plan.fold:
        return (f"cross-validation fold {plan.fold} by patient where the data names patients, else by image; "
                f"seed {plan.seed}{share}")
    return f"split by patient where the data names patients, else by image; seed {plan.seed}{share}"


def prepare_data(plan: RunPlan, case=None) -> tuple[ArrayDataset, ArrayDataset, list, list]:
    """``(train_dataset, val_dataset, train_items, val_items)`` for a plan, standardised
    per channel with the training set's statistics (``train.norm``)."""
    case = case or get_case(plan.case)
    train_items, val_items = split_data(plan, case)
    enhance = {"enhance": plan.enhance, "enhance_params": plan.enhance_params, "crop": plan.crop, "tile": plan.tile}
    train = make_dataset(train_items, case, plan.input_size, plan.model_dims, augment=plan.augment, seed=plan.seed,
                         **enhance)
    val = make_dataset(val_items, case, plan.input_size, plan.model_dims, every_slice=True, **enhance)
    if train.pre.tile:  # large photographs: random tiles at full resolution (validation: whole images)
        from medlearn.tiling import TileDataset

        train = TileDataset(train, train.pre.tile, plan.seed)
    standardise(train, val)
    return train, val, train_items, val_items


FIRST_VISIT_BUDGET_S = 40.0
"""Seconds a first-visit model may train (``time_budget_s``): with the worker's start, the data
and the final familiarity pass, ready within about a minute on a 2-core CPU, however busy;
the full recipe then trains in the background and answers once it scores better."""


def weights_text(plan: RunPlan, case, model=None) -> str:
    """What the weights are, in words: data, case and starting point."""
    start = getattr(model, "medlearn_weights", None) if plan.init != "scratch" else None
    data = "synthetic phantoms (not real patients)" if plan.source == "phantoms" else f"the {plan.source} dataset"
    if start:
        return f"trained by MedLearn on {data} for {case.title}, starting from {start}"
    how = "fine-tuned from ImageNet weights" if plan.init == "imagenet" else "trained from scratch"
    quick = (f", in the epochs that fit a {plan.time_budget_s:g} s first-visit budget (a quick first model: "
             "the full recipe follows)") if plan.time_budget_s else ""
    return f"{how} by MedLearn on {data} for {case.title}{quick}"


def plan_card(plan: RunPlan, case, images=(), model=None, weights: str | None = None) -> ModelCard:
    """The card of a network built by ``plan`` that trained on ``images`` (none: a network
    whose card accepts any input, for benchmarks and tests that save untrained weights)."""
    pre = preprocessing_for(case, plan.input_size, plan.model_dims, plan.enhance, plan.enhance_params, plan.crop,
                            plan.tile)
    return build_card(plan, case, pre, images, weights or weights_text(plan, case, model), 0, split_rule(plan))


def model_meta(plan: RunPlan, case, card: ModelCard | None = None, model=None) -> dict:
    """The checkpoint sidecar: what ``get_model`` needs to rebuild the network, the model card
    (:mod:`medlearn.card`: the one record of how inputs are prepared) and the plan."""
    meta = {"name": plan.arch, "in_channels": case.task.in_channels, "num_classes": case.task.num_classes,
            "spatial_dims": plan.model_dims, "width": plan.width, "input_size": plan.input_size,
            "case": plan.case, "source": plan.source, "class_names": list(case.task.class_names),
            "plan": plan.to_dict(), "init": plan.init, "pretrained": plan.init == "imagenet",
            "card": (card or plan_card(plan, case, model=model)).to_dict()}
    if plan.init == "imagenet":
        from medlearn.models.pretrained import PUBLISHED_WIDTH

        meta["width"] = PUBLISHED_WIDTH  # ImageNet weights only fit the published channel counts
    if model is not None and getattr(model, "medlearn_weights_detail", None) and plan.init != "scratch":
        meta["medlearn_weights_detail"] = model.medlearn_weights_detail
    return meta


def untrained_meta(case_key: str, arch: str, source: str = "phantoms", **choices) -> dict:
    """Checkpoint metadata (model card included) for a network of ``arch`` built by the plan of
    these ``choices`` but not trained: benchmarks and tests save fresh weights with it."""
    case = get_case(case_key)
    return model_meta(make_plan(case, arch, source, **choices), case)


def build_model(plan: RunPlan, case, donor: str | Path | None = None):
    """The plan's network with its starting weights: random, ImageNet (from the torch cache
    only; a clear error offline) or another MedLearn checkpoint of the same architecture
    (``load_backbone_from``: tensors of matching name and shape are copied, a grey first
    layer is repeated over three colour channels, the rest keeps its random init): the
    plan's ``medlearn:<path>``, or ``donor`` (the phantom checkpoint of a sim-to-real plan)."""
    from medlearn.models import get_model

    kwargs = dict(in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                  spatial_dims=plan.model_dims, input_size=plan.input_size)
    if plan.init == "imagenet":
        return get_model(plan.arch, pretrained=True, **kwargs)
    model = get_model(plan.arch, width=plan.width, **kwargs)
    if plan.init.startswith("medlearn:"):
        donor = plan.init[len("medlearn:"):]
    if donor is not None:
        warm_start(model, donor, plan.arch)
    return model


def phantom_donor(plan: RunPlan, case, store: RunStore, root: Path, callbacks=()) -> Path | None:
    """Sim-to-real's first stage for ``plan`` (``init="phantoms"``): the same network trained by
    the case's phantom recipe at the plan's input size, width and seed (so every layer fits
    the fine-tuning). A finished checkpoint is reused; otherwise it trains now, as its own run
    in the store. Returns its path, or None when that training was stopped (only the stop
    flags among ``callbacks`` follow it: its curves are its own run's, not the fine-tuning's)."""
    from medlearn.train.callbacks import StopFlag

    choices = dict(input_size=plan.input_size, width=plan.width, seed=plan.seed)
    path = recipe_checkpoint(case.key, plan.arch, "phantoms", root=root, **choices)
    if _finished(make_plan(case, plan.arch, "phantoms", **choices), path) is None:
        record = train_recipe(case.key, plan.arch, "phantoms", store=store, checkpoint_root=root, resume=True,
                              callbacks=[cb for cb in callbacks if isinstance(cb, StopFlag)], **choices)
        if record.status != "done":
            return None
    return path


def warm_start(model, path: str | Path, arch: str):
    """Load another MedLearn checkpoint of ``arch`` into ``model``; returns the load report."""
    from safetensors.torch import load_file

    from medlearn.models.pretrained import load_backbone_from
    from medlearn.train.checkpoints import read_meta

    meta = read_meta(path)
    if meta.get("name") != arch:
        raise MedlearnInputError(f"The starting checkpoint is a {meta.get('name')!r} network; "
                                 f"it cannot start a {arch!r}. Pick a run of the same architecture.")
    state = load_file(str(path))
    target = model.state_dict()
    for key, value in state.items():  # grey first layer (O, 1, *k) -> colour (O, 3, *k), same response
        dst = target.get(key)
        if dst is not None and value.dim() >= 3 and value.shape[1] == 1 and dst.shape[1] == 3 \
                and value.shape[0] == dst.shape[0] and value.shape[2:] == dst.shape[2:]:
            state[key] = value.repeat(1, 3, *([1] * (value.dim() - 2))) / 3
    case_title = meta.get("case", "another case")
    try:
        case_title = get_case(case_title).title
    except Exception:  # an unknown case key in an old file: keep the key
        pass
    source = "phantoms" if meta.get("source") == "phantoms" else meta.get("source", "its data")
    return load_backbone_from(model, state, source=f"{case_title} {source} ({Path(path).name})")


def train_recipe(case_key: str, arch: str, source: str = "phantoms", epochs: int | None = None,
                 input_size: int | None = None, n_train: int | None = None, n_val: int | None = None,
                 seed: int = 0,
                 callbacks: Iterable = (), store: RunStore | None = None, run_id: int | None = None,
                 resume: bool = False, checkpoint_root: str | Path | None = None, enhance: str | None = None,
                 enhance_params: dict | None = None, init: str | None = None, augment: bool | str = True,
                 **overrides) -> RunRecord:
    """Train ``arch`` for a case end to end and record it.

    Args:
        case_key: a case key (``"breast"``...).
        arch: a model registry name or ``"classic"``.
        source: a dataset source name (``"phantoms"`` by default).
        epochs, input_size, n_train, n_val: override the case's recipe.
        seed: split, initialisation and batch-order seed (same seed = same split).
        callbacks: extra trainer callbacks (progress bar, streaming, stop flag).
        store: the run store (default: the data home's).
        run_id: an existing queued run to fill (the job manager's), else a new run.
        resume: continue from this configuration's last resume state, if any.
        checkpoint_root: folder for checkpoints (default ``<data home>/checkpoints``).
        enhance: ``"ace"`` or ``"clahe"`` on every image before resizing (the predictor
            repeats it), or None for raw images; ``enhance_params`` its keywords.
        init: starting weights: ``"scratch"`` (default), ``"imagenet"`` (cached weights
            only), ``"phantoms"`` (sim-to-real: pre-train on the case's phantoms first, see
            :func:`phantom_donor`) or ``"medlearn:<checkpoint path or run id>"`` (warm start).
        augment: ``True`` (the recipe's augmentation), ``"strong"``, ``"flips"`` or ``False``.
        **overrides: ``batch_size``, ``width``, ``learning_rate``, ``crop``, ``balanced``, ``fold``
            (``"k/K"``: cross-validation fold ``k`` of ``K`` held out).

    Returns:
        The finished :class:`RunRecord` (status ``done`` or ``stopped``).
    """
    store = store or RunStore()
    plan = plan_recipe(case_key, arch, source, epochs=epochs, input_size=input_size, n_train=n_train, n_val=n_val,
                       seed=seed, enhance=enhance, enhance_params=enhance_params, init=init, augment=augment,
                       store=store, **overrides)
    return run_plan(plan, callbacks, store, run_id, resume, checkpoint_root)


def plan_recipe(case_key: str, arch: str, source: str = "phantoms", *, store: RunStore | None = None,
                init: str | None = None, **choices) -> RunPlan:
    """The :class:`RunPlan` of a recipe with the caller's ``choices`` (those of
    :func:`train_recipe`): built and checked once, where the run is asked for (a bad choice
    raises :class:`~medlearn.errors.MedlearnInputError` there), then handed to any job
    backend as it is."""
    return make_plan(get_case(case_key), arch, source, init=resolve_init(init, store or RunStore()), **choices)


def run_plan(plan: RunPlan, callbacks: Iterable = (), store: RunStore | None = None, run_id: int | None = None,
             resume: bool = False, checkpoint_root: str | Path | None = None) -> RunRecord:
    """Train one :class:`RunPlan` end to end and record it (what a job backend's worker runs);
    see :func:`train_recipe` for the arguments."""
    case, arch, source = get_case(plan.case), plan.arch, plan.source
    store = store or RunStore()
    root, path = _plan_checkpoint(plan, checkpoint_root)
    if run_id is None:
        run_id = store.create_run(case.key, arch, source, plan.to_dict())
    else:
        store.start(run_id, config=plan.to_dict())
    try:
        seed_everything(plan.seed)
        if arch == "classic":  # works on the items themselves (any size, 2D or 3D): no tensors
            status, metrics = _fit_classic(plan, case, *split_data(plan, case), path, store, run_id)
            path = classic_path(path)
        elif resume and (finished := _finished(plan, path)) is not None:
            _share(None)  # data-parallel ranks: nothing to train
            status, metrics = "done", finished  # nothing left to train: no data to prepare
        elif plan.init == "phantoms" and (donor := phantom_donor(plan, case, store, root, callbacks)) is None:
            _share(None)
            status, metrics = "stopped", {}  # stopped while pre-training on phantoms
        else:
            _share(str(donor) if plan.init == "phantoms" else "")  # the other ranks start with rank 0
            train, val, train_items, val_items = prepare_data(plan, case)
            status, metrics = _fit_network(plan, case, train, val, path, store, run_id, list(callbacks),
                                           resume, [it.image for it in train_items], len(val_items),
                                           donor if plan.init == "phantoms" else None)
    except BaseException as exc:
        store.finish(run_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    store.finish(run_id, status, metrics=metrics, checkpoint=str(path) if path.exists() else None)
    return store.get_run(run_id)


def _plan_checkpoint(plan: RunPlan, checkpoint_root: str | Path | None) -> tuple[Path, Path]:
    """``(checkpoint root, the plan's checkpoint path)``: where a run of ``plan`` saves."""
    root = Path(checkpoint_root) if checkpoint_root else default_checkpoint_root()
    return root, checkpoint_path(root, plan.case, plan.arch, plan.source, plan.to_dict())


def recipe_ready(case_key: str, arch: str, source: str = "phantoms") -> bool:
    """Whether the default recipe's checkpoint exists with a model card (an older one without
    a card is refused by the predictor, so it needs training again)."""
    from medlearn.card import checkpoint_has_card

    return checkpoint_has_card(recipe_checkpoint(case_key, arch, source))


def recipe_checkpoint(case_key: str, arch: str, source: str = "phantoms", root: str | Path | None = None,
                      **choices) -> Path:
    """Where ``train_recipe`` with these choices writes (or wrote) its checkpoint."""
    case = get_case(case_key)
    if choices.get("init") is not None:
        choices["init"] = resolve_init(choices["init"])
    plan = make_plan(case, arch, source, **choices)
    path = checkpoint_path(Path(root) if root else default_checkpoint_root(), case.key, arch, source,
                           plan.to_dict())
    return classic_path(path) if arch == "classic" else path


def _finished(plan, path: Path) -> dict | None:
    """The saved metrics when ``plan`` trained all its epochs into ``path`` (its resume state,
    kept only while a run can resume, is gone), else None."""
    if resume_path(path).exists() or not Path(path).exists():
        return None
    from medlearn.train.checkpoints import read_meta

    saved = read_meta(path).get("metrics") or {}
    return saved if saved.get("epoch") == plan.epochs else None


def _fit_network(plan, case, train, val, path, store, run_id, callbacks, resume, train_images,
                 n_val: int, donor: Path | None = None) -> tuple[str, dict]:
    model = build_model(plan, case, donor)
    card = build_card(plan, case, train.pre, train_images, weights_text(plan, case, model), n_val, split_rule(plan))
    config = _train_config(plan, case, train)
    # a time budget re-plans rank 0's epochs and learning rates alone: not for data-parallel ranks
    budget = [TimeBudget(plan.time_budget_s)] if plan.time_budget_s and distributed_rank()[1] == 1 else []
    trainer = _network_trainer(plan, model, train, val, config,
                               [RunLogging(store, run_id), Checkpointing(path, _meta(plan, case, card, model)),
                                *budget, *callbacks], resume_path(path) if resume else None)
    history = trainer.fit()
    if trainer.status == "done":  # the plan's epochs are all trained: nothing left to resume
        calibrate_familiarity(trainer.unwrapped_model, train, val, path, plan.seed, trainer.device)
        resume_path(path).unlink(missing_ok=True)  # (100-150 MB for a ResNet-18 with its optimiser)
    return trainer.status, (history[-1] if history else {})


def _meta(plan, case, card, model) -> dict:
    """The checkpoint's metadata; ``ranks``: how many data-parallel workers trained it."""
    world = distributed_rank()[1]
    return {**model_meta(plan, case, card, model), **({"ranks": world} if world > 1 else {})}


def _train_config(plan, case, train) -> TrainConfig:
    return TrainConfig(task=case.task.kind, num_classes=case.task.num_classes, epochs=plan.epochs,
                       batch_size=plan.batch_size, learning_rate=plan.learning_rate, seed=plan.seed,
                       ordinal=case.task.ordinal, spacing=train.spacing, class_names=case.task.class_names,
                       balanced=plan.balanced)


def distributed_rank() -> tuple[int, int]:
    """``(rank, world size)`` of this process in a data-parallel group (``(0, 1)``: none)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _share(value):
    """Rank 0's ``value`` on every rank of a data-parallel group (itself when there is none):
    whether, and from which starting weights, the ranks train together."""
    import torch.distributed as dist

    if distributed_rank()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _network_trainer(plan, model, train, val, config: TrainConfig, callbacks: list, resume_from: Path | None):
    """The :class:`Trainer` of a plan's network, from its saved state when ``resume_from`` exists.

    In a data-parallel group (Ray Train's TorchTrainer, :func:`follow_plan`) each rank trains on
    its shard of the items (``DistributedSampler``), the model is wrapped in PyTorch's
    ``DistributedDataParallel`` after the resume state is loaded (its constructor gives every
    rank rank 0's weights) and :class:`~medlearn.train.callbacks.SyncedStop` keeps the ranks'
    stops together. Every rank validates on the whole validation split (no collectives)."""
    from medlearn.train.callbacks import SyncedStop

    parallel = distributed_rank()[1] > 1
    sampler = None
    if parallel:
        from medlearn.train.ddp import shard

        if torch.cuda.is_available() and config.device in (None, "cuda"):
            config.device = f"cuda:{torch.cuda.current_device()}"  # Ray Train's choice for this rank
        sampler = shard(train, plan.seed)
        callbacks = [*callbacks, SyncedStop()]
    trainer = Trainer(model, train, val, config, [OneCycle(), *callbacks], sampler=sampler)
    if resume_from is not None and resume_from.exists():
        trainer.load_state_dict(load_resume_state(resume_from))
    if parallel:
        from medlearn.train.ddp import wrap

        wrap(trainer, find_unused=bool(getattr(model, "computes_own_loss", False)))  # detectors leave heads idle
    return trainer


def follow_plan(plan: RunPlan, resume: bool = False, checkpoint_root: str | Path | None = None) -> None:
    """A data-parallel rank other than 0 training ``plan`` beside rank 0's :func:`run_plan`:
    same data, same network, its own shard of each epoch; no store, no checkpoint, no stop
    flag of its own (rank 0 has them and says when to stop)."""
    case = get_case(plan.case)
    _, path = _plan_checkpoint(plan, checkpoint_root)
    seed_everything(plan.seed)
    donor = _share(None)  # None: rank 0 has nothing to train
    if donor is None:
        return
    train, val, _, _ = prepare_data(plan, case)
    model = build_model(plan, case, Path(donor) if donor else None)
    _network_trainer(plan, model, train, val, _train_config(plan, case, train), [],
                     resume_path(path) if resume else None).fit()


def calibrate_familiarity(model, train, val, path: Path, seed: int, device) -> bool:
    """Store with the finished weights how far the validation images lie from the training
    images in the network's feature space (:mod:`medlearn.ood`): the predictor then says
    when an upload is unlike anything the model learnt from. False: too few images (or no
    checkpoint), nothing stored."""
    from medlearn.ood import bank_tensors, fit_familiarity
    from medlearn.train.checkpoints import EXTRA_PREFIX, read_meta, save_weights, snapshot

    fitted = fit_familiarity(model, train.images, val.images, seed=seed, device=device)
    if fitted is not None and Path(path).exists():
        stats, banks = fitted
        extra = {EXTRA_PREFIX + name: t for name, t in bank_tensors(banks).items()}
        state = {**snapshot(model.state_dict()), **extra}
        save_weights(state, {**read_meta(path), "familiarity": stats}, path)
        return True
    return False


def recalibrate_familiarity(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """Calibrate a saved network's familiarity again (:func:`calibrate_familiarity`) on the
    split it trained on, rebuilt from its plan: for a checkpoint whose banks an older MedLearn
    stored for another layer (``medlearn.ood``'s ``"stale"``). Only the banks and the
    calibration change; the weights are written back as they were. Returns the calibration.

    Raises:
        MedlearnInputError: the checkpoint has no plan this MedLearn can rebuild, or too few
            images to calibrate on.
        MedlearnError: its data is not on this machine (the source's own error).
    """
    from medlearn.train.checkpoints import load_checkpoint, read_meta

    meta = read_meta(path)
    try:
        plan = RunPlan(**meta["plan"])
    except (KeyError, TypeError) as exc:
        raise MedlearnInputError(f"This checkpoint's plan cannot be rebuilt by this MedLearn ({exc}), so the "
                                 "images it trained on are unknown. Train it again.") from None
    if plan.arch == "classic":
        raise MedlearnInputError("The classical baseline has no network features to calibrate.")
    case = get_case(plan.case)
    train, val, _, _ = prepare_data(plan, case)
    if not calibrate_familiarity(load_checkpoint(path, device)[0], train, val, Path(path), plan.seed, device):
        raise MedlearnInputError(f"Too few images to calibrate on ({len(train.images)} training, "
                                 f"{len(val.images)} validation).")
    return read_meta(path)["familiarity"]


class OneCycle:
    """One-cycle learning rate per batch (warm up over the first 20%, then anneal to ~0),
    peaking at the plan's rate: the last epochs settle the weights and BatchNorm's
    statistics, so the final score does not depend on where a noisy epoch ended.
    (The Trainer has no scheduler; this callback drives torch's ``OneCycleLR``.)

    The schedule follows ``trainer.config.epochs``: when a callback shortens the run
    (:class:`~medlearn.train.callbacks.TimeBudget`), it is planned again over the new length
    from the step it had reached, so a shortened run still ends annealed."""

    order = 0

    def before_fit(self, trainer) -> None:
        n, bs = len(trainer.train_data), trainer.config.batch_size
        self.per_epoch = n // bs if (n > bs and n % bs == 1) else -(-n // bs)  # the trainer's drop_last rule
        self.peak = trainer.optimizer.param_groups[0].get("max_lr", trainer.config.learning_rate)
        self._plan(trainer, trainer.start_epoch * self.per_epoch)  # a resumed run continues its schedule

    def _plan(self, trainer, done: int) -> None:
        self.epochs = trainer.config.epochs
        total = max(self.epochs * self.per_epoch, done + 1)
        self.schedule = None
        if total < 3:  # too few steps to warm up and anneal: the plan's rate throughout
            return
        # at least two warm-up steps: torch's one-cycle divides by the warm-up's length
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(
            trainer.optimizer, max_lr=self.peak, total_steps=total, pct_start=min(0.5, max(0.2, 2 / total)))
        for _ in range(done):
            self.schedule.step()

    def after_batch(self, trainer) -> None:
        if trainer.config.epochs != self.epochs:
            self._plan(trainer, self.schedule.last_epoch if self.schedule is not None else 0)
        if trainer.training and self.schedule is not None and self.schedule.last_epoch < self.schedule.total_steps - 1:
            self.schedule.step()


def _fit_classic(plan, case, train_items, val_items, path: Path, store, run_id) -> tuple[str, dict]:
    """scikit-learn baseline on the same split, recorded as a single epoch.

    Features come from the expert lesion masks in training (as radiomics studies do), but
    from an automatic region (Otsu, the component nearest the centre) in validation: a
    new patient comes without an expert contour, and the networks it races get none.
    """
    from medlearn.models import get_model

    if case.task.is_segmentation:
        raise MedlearnInputError("The classical baseline classifies; it cannot segment.")
    dims = train_items[0].image.spatial_dims  # a 3D case's source may hold 2D crops (LIDC)
    polarity = "dark" if case.modality == "US" else "bright"  # hypoechoic ultrasound lesions
    model = get_model("classic", in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                      spatial_dims=dims, width=plan.width, input_size=plan.input_size, otsu_polarity=polarity)
    pre = preprocessing_for(case, None, dims, plan.enhance, plan.enhance_params, plan.crop)

    def images(items):  # the one input pipeline, without resizing: features see any size
        return [prepared_image(it.image, pre) for it in items]

    t0 = time.perf_counter()
    train_images = images(train_items)
    model.fit(train_images, [int(it.label) for it in train_items], masks=[it.mask for it in train_items])
    train_s = time.perf_counter() - t0
    probs = model.predict_proba(images(val_items), masks=None)
    metrics = {"epoch": 1, **classification_metrics([int(it.label) for it in val_items], probs,
                                                     ordinal=case.task.ordinal, calibrated=True),
               "seconds": time.perf_counter() - t0, "train_seconds": train_s,
               "images_per_s": len(train_items) / max(train_s, 1e-9)}
    store.log_epoch(run_id, metrics)
    regions = "expert masks in training, automatic regions (Otsu, nearest the centre) in validation"
    weights = f"fitted by MedLearn on {'synthetic phantoms' if plan.source == 'phantoms' else plan.source} " \
              f"for {case.title} (hand-crafted features + scikit-learn)"
    card = build_card(plan, case, pre, [it.image for it in train_items], weights, len(val_items), split_rule(plan))
    save_classic(model, {**model_meta(plan, case, card), "spatial_dims": dims, "metrics": metrics,
                         "regions": regions}, classic_path(path))
    return "done", metrics


def classic_path(path: Path) -> Path:
    """The classical baseline's folder next to where a network's checkpoint would be."""
    return Path(path).with_suffix(".classic")


def save_classic(model, meta: dict, folder: Path) -> Path:
    """Save with the model's own ``save`` (numbers in ``.npz``, or a hashed joblib file) into a
    temporary folder, then swap it in, so a kill never leaves a half-written model."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(tmp)
    atomic_write(tmp / "medlearn.json", json.dumps(meta, indent=2, sort_keys=True, default=str).encode())
    old = folder.with_name(f".{folder.name}.old")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load_classic(folder: str | Path, root: str | Path | None = None) -> tuple[object, dict]:
    """Load a classical baseline saved by :func:`save_classic`, from the checkpoint folder
    ``root`` only (a tree-ensemble model is a joblib pickle: never a user's file)."""
    from medlearn.models import ClassicalClassifier

    root = Path(root) if root else default_checkpoint_root()
    folder = Path(folder).resolve()
    if not folder.is_relative_to(root.resolve()):
        raise MedlearnInputError("Classical models are only loaded from MedLearn's own checkpoint folder.")
    if not (folder / "medlearn.json").is_file():
        raise ModelUnavailableError(f"No classical model at {folder}; train it first.")
    return ClassicalClassifier.load(folder), json.loads((folder / "medlearn.json").read_text())
