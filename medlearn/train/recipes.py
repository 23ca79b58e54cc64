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

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError, ModelUnavailableError
from medlearn.metrics import classification_metrics
from medlearn.train.callbacks import Checkpointing, RunLogging
from medlearn.train.checkpoints import atomic_write, checkpoint_path, load_resume_state, resume_path
from medlearn.train.config import TrainConfig
from medlearn.train.data import ArrayDataset, make_dataset, split_items
from medlearn.train.enhancement import enhance_image
from medlearn.train.plan import RunPlan, make_plan
from medlearn.train.seed import seed_everything
from medlearn.train.store import RunRecord, RunStore, default_home
from medlearn.train.trainer import Trainer


def load_items(case, source: str, n: int, seed: int = 0) -> list:
    """``n`` items of a case from a data source (phantoms are generated with ``seed``)."""
    if source == "phantoms":
        from medlearn.data.phantoms import generate

        return generate(case.key, n=n, seed=seed)
    from medlearn.data.sources import get_source

    items = get_source(source).load(case.key, split="all", limit=n)
    if len(items) < 2:
        raise MedlearnInputError(
            f"Source {source!r} gave {len(items)} item(s) for {case.title}; need at least 2.")
    return items


def split_data(plan: RunPlan, case=None) -> tuple[list, list]:
    """``(train_items, val_items)``: the plan's items split by its seed (a source with fewer
    items than asked for keeps about a fifth for validation)."""
    case = case or get_case(plan.case)
    items = load_items(case, plan.source, plan.n_train + plan.n_val, plan.seed)
    n_val = min(plan.n_val, max(1, len(items) // 5)) if len(items) < plan.n_train + plan.n_val else plan.n_val
    return split_items(items, n_val, plan.seed)


def prepare_data(plan: RunPlan, case=None) -> tuple[ArrayDataset, ArrayDataset, list, list]:
    """``(train_dataset, val_dataset, train_items, val_items)`` for a plan."""
    case = case or get_case(plan.case)
    train_items, val_items = split_data(plan, case)
    enhance = {"enhance": plan.enhance, "enhance_params": plan.enhance_params}
    train = make_dataset(train_items, case, plan.input_size, plan.model_dims, augment=True, seed=plan.seed,
                         **enhance)
    val = make_dataset(val_items, case, plan.input_size, plan.model_dims, **enhance)
    return train, val, train_items, val_items


def model_meta(plan: RunPlan, case) -> dict:
    """The checkpoint sidecar: what ``get_model`` needs to rebuild the network, and provenance."""
    return {"name": plan.arch, "in_channels": case.task.in_channels, "num_classes": case.task.num_classes,
            "spatial_dims": plan.model_dims, "width": plan.width, "input_size": plan.input_size,
            "case": plan.case, "source": plan.source, "class_names": list(case.task.class_names),
            "enhance": plan.enhance, "enhance_params": dict(plan.enhance_params),
            "plan": plan.to_dict(), "medlearn_weights": True}


def train_recipe(case_key: str, arch: str, source: str = "phantoms", epochs: int | None = None,
                 input_size: int | None = None, n_train: int | None = None, n_val: int | None = None,
                 seed: int = 0,
                 callbacks: Iterable = (), store: RunStore | None = None, run_id: int | None = None,
                 resume: bool = False, checkpoint_root: str | Path | None = None, enhance: str | None = None,
                 enhance_params: dict | None = None, **overrides) -> RunRecord:
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
        **overrides: ``batch_size``, ``width``, ``learning_rate``.

    Returns:
        The finished :class:`RunRecord` (status ``done`` or ``stopped``).
    """
    case = get_case(case_key)
    plan = make_plan(case, arch, source, epochs=epochs, input_size=input_size, n_train=n_train, n_val=n_val,
                     seed=seed, enhance=enhance, enhance_params=enhance_params, **overrides)
    store = store or RunStore()
    root = Path(checkpoint_root) if checkpoint_root else default_home() / "checkpoints"
    path = checkpoint_path(root, case.key, arch, source, plan.to_dict())
    if run_id is None:
        run_id = store.create_run(case.key, arch, source, plan.to_dict())
    else:
        store.start(run_id, config=plan.to_dict())
    try:
        seed_everything(plan.seed)
        if arch == "classic":  # works on the items themselves (any size, 2D or 3D): no tensors
            status, metrics = _fit_classic(plan, case, *split_data(plan, case), path, store, run_id)
            path = classic_path(path)
        else:
            train, val, _, _ = prepare_data(plan, case)
            status, metrics = _fit_network(plan, case, train, val, path, store, run_id, list(callbacks),
                                           resume)
    except BaseException as exc:
        store.finish(run_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    store.finish(run_id, status, metrics=metrics, checkpoint=str(path) if path.exists() else None)
    return store.get_run(run_id)


def recipe_checkpoint(case_key: str, arch: str, source: str = "phantoms", root: str | Path | None = None,
                      **choices) -> Path:
    """Where ``train_recipe`` with these choices writes (or wrote) its checkpoint."""
    case = get_case(case_key)
    plan = make_plan(case, arch, source, **choices)
    path = checkpoint_path(Path(root) if root else default_home() / "checkpoints", case.key, arch, source,
                           plan.to_dict())
    return classic_path(path) if arch == "classic" else path


def _fit_network(plan, case, train, val, path, store, run_id, callbacks, resume) -> tuple[str, dict]:
    from medlearn.models import get_model

    model = get_model(plan.arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                      spatial_dims=plan.model_dims, width=plan.width, input_size=plan.input_size)
    config = TrainConfig(task=case.task.kind, num_classes=case.task.num_classes, epochs=plan.epochs,
                         batch_size=plan.batch_size, learning_rate=plan.learning_rate, seed=plan.seed,
                         ordinal=case.task.ordinal, spacing=train.spacing, class_names=case.task.class_names)
    trainer = Trainer(model, train, val, config,
                      [RunLogging(store, run_id), Checkpointing(path, model_meta(plan, case)), *callbacks])
    if resume and resume_path(path).exists():
        trainer.load_state_dict(load_resume_state(resume_path(path)))
    history = trainer.fit()
    return trainer.status, (history[-1] if history else {})


def _fit_classic(plan, case, train_items, val_items, path: Path, store, run_id) -> tuple[str, dict]:
    """scikit-learn baseline on the same split, recorded as a single epoch."""
    from medlearn.models import get_model

    if case.task.is_segmentation:
        raise MedlearnInputError("The classical baseline classifies; it cannot segment.")
    dims = train_items[0].image.spatial_dims  # a 3D case's source may hold 2D crops (LIDC)
    model = get_model("classic", in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                      spatial_dims=dims, width=plan.width, input_size=plan.input_size)
    def images(items):
        return [enhance_image(it.image, plan.enhance, plan.enhance_params) for it in items]

    t0 = time.perf_counter()
    model.fit(images(train_items), [int(it.label) for it in train_items], masks=[it.mask for it in train_items])
    train_s = time.perf_counter() - t0
    probs = model.predict_proba(images(val_items), masks=[it.mask for it in val_items])
    metrics = {"epoch": 1, **classification_metrics([int(it.label) for it in val_items], probs,
                                                     ordinal=case.task.ordinal),
               "seconds": time.perf_counter() - t0, "train_seconds": train_s,
               "images_per_s": len(train_items) / max(train_s, 1e-9)}
    store.log_epoch(run_id, metrics)
    save_classic(model, {**model_meta(plan, case), "spatial_dims": dims, "metrics": metrics}, classic_path(path))
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

    root = Path(root) if root else default_home() / "checkpoints"
    folder = Path(folder).resolve()
    if not folder.is_relative_to(root.resolve()):
        raise MedlearnInputError("Classical models are only loaded from MedLearn's own checkpoint folder.")
    if not (folder / "medlearn.json").is_file():
        raise ModelUnavailableError(f"No classical model at {folder}; train it first.")
    return ClassicalClassifier.load(folder), json.loads((folder / "medlearn.json").read_text())
