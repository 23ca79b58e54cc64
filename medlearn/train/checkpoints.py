"""Checkpoints: weights in safetensors, the model config beside them, written atomically.

A checkpoint is ``NAME.safetensors`` (state dict; the model config is also stored in the
file's own metadata header, so weights and config are replaced together in one
``os.replace``) plus ``NAME.json``, a readable copy of the config for people and listings.
Nothing is ever unpickled from a checkpoint: safetensors holds only tensors, and the
resume state (optimiser, epoch, RNG) is read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from medlearn.errors import MedlearnInputError, ModelUnavailableError

META_KEY = "medlearn"
# The fields a checkpoint's config must carry to rebuild the model with ``get_model``.
MODEL_FIELDS = ("name", "in_channels", "num_classes", "spatial_dims", "width", "input_size")
CHECKPOINT_SUFFIX, RESUME_SUFFIX, TEMP_SUFFIX = ".safetensors", ".resume.pt", ".tmp"
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left; over the user's quota


def config_hash(config: dict[str, Any], length: int = 8) -> str:
    """A short stable hash of a JSON-ready config (part of checkpoint names)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


CHECKPOINT_DIR_ENV = "MEDLEARN_CHECKPOINT_DIR"


def checkpoint_root() -> Path:
    """Where recipes save models unless told otherwise: ``$MEDLEARN_CHECKPOINT_DIR`` when set
    (the folder every replica and worker of a deployment shares), else ``<data home>/checkpoints``."""
    import os

    from medlearn.train.store import default_home

    explicit = os.environ.get(CHECKPOINT_DIR_ENV, "").strip()
    return Path(explicit).expanduser() if explicit else default_home() / "checkpoints"


def checkpoint_path(root: str | Path, case: str, arch: str, source: str, config: dict[str, Any]) -> Path:
    """``root/case/arch/source-HASH.safetensors``: one file per case, model, data and config."""
    return Path(root) / case / arch / f"{source}-{config_hash(config)}{CHECKPOINT_SUFFIX}"


def resume_path(path: str | Path) -> Path:
    """Where the resume state (optimiser + epoch) of a checkpoint lives."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(CHECKPOINT_SUFFIX) + RESUME_SUFFIX)


def checkpoint_of_resume(path: str | Path) -> Path:
    """The checkpoint a resume file belongs to (the inverse of :func:`resume_path`)."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(RESUME_SUFFIX) + CHECKPOINT_SUFFIX)


def host_tag() -> str:
    """This machine's name as it goes into a temporary file name (letters, digits, ``-``)."""
    import re
    import socket

    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"


def temp_writer_pid(path: str | Path) -> int | None:
    """The process id in a temporary file name of :func:`atomic_write`
    (``.NAME.PID_HOST.XXXX.tmp``, or ``.NAME.PID.XXXX.tmp`` from before hosts were named) when
    that process ran on this machine; None for any other name, and for another machine's
    writer (checkpoints on storage several hosts share: its process id means nothing here)."""
    name = Path(path).name
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return None
    parts = name[: -len(TEMP_SUFFIX)].split(".")
    if len(parts) < 4:
        return None
    pid, _, host = parts[-2].partition("_")
    return int(pid) if pid.isdigit() and host in ("", host_tag()) else None


def remove_orphan_temp_files(root: str | Path, alive: Callable[[int], bool]) -> list[Path]:
    """Delete the temporary files that :func:`atomic_write` left under ``root`` in processes
    that ``alive(pid)`` says are gone (killed mid-write); a live writer's file stays.
    Returns the removed paths."""
    removed = []
    for tmp in Path(root).rglob(f".*{TEMP_SUFFIX}"):
        pid = temp_writer_pid(tmp)
        if pid is not None and tmp.is_file() and not alive(pid):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` is either the old file or the new one, never half:
    a temporary file in the same folder, flushed and fsynced, then ``os.replace``.

    The temporary file is ``.NAME.PID_HOST.XXXX.tmp``: a writer killed before the rename leaves
    it behind, and :func:`remove_orphan_temp_files` on the same host deletes it once that
    process is gone.
    A full disk raises ``OSError(ENOSPC)`` whose message says so in words.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}_{host_tag()}.",
                               suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            from medlearn.data.io.limits import mib

            raise OSError(exc.errno, f"Disk full: there was no room to save {path.name} ({mib(len(data))}) "
                                     f"in {path.parent}; the previous file is kept. Free some space (instructor "
                                     "mode: Disk use) and try again.") from exc
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        os.fsync(dir_fd)
        os.close(dir_fd)
    except OSError:
        pass


def save_checkpoint(model: torch.nn.Module, meta: dict[str, Any], path: str | Path) -> Path:
    """Save ``model``'s weights and ``meta`` (name, in_channels, num_classes, spatial_dims,
    width, input_size, case, source, metrics, ...) atomically; returns the path."""
    return save_weights(snapshot(model.state_dict()), meta, path)


def snapshot(state: Any) -> Any:
    """A CPU copy of a (nested) state, safe to write while training goes on."""
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True).contiguous()
    if isinstance(state, dict):
        return {k: snapshot(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(snapshot(v) for v in state)
    return state


def save_weights(state: dict[str, torch.Tensor], meta: dict[str, Any], path: str | Path) -> Path:
    """Save a CPU state dict (see :func:`snapshot`) and ``meta`` atomically; returns the path."""
    path = Path(path)
    text = json.dumps(meta, sort_keys=True, default=str)
    atomic_write(path, st_save(state, metadata={META_KEY: text}))
    atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True, default=str).encode())
    return path


EXTRA_PREFIX = "medlearn_extra."  # tensors stored beside the weights (not the model's): see read_extra


def read_extra(path: str | Path, name: str) -> torch.Tensor | None:
    """The tensor ``name`` stored beside the weights (``EXTRA_PREFIX + name``), or None."""
    with safe_open(str(_existing(path)), framework="pt") as f:
        key = EXTRA_PREFIX + name
        return f.get_tensor(key) if key in f.keys() else None


def read_meta(path: str | Path) -> dict[str, Any]:
    """The config stored inside a checkpoint (no tensors are read)."""
    path = _existing(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {})[META_KEY])
    except (SafetensorError, KeyError, json.JSONDecodeError, OSError) as exc:
        raise MedlearnInputError(f"{path.name} is not a MedLearn checkpoint or is damaged ({exc}).") from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu",
                    builder: Callable[..., torch.nn.Module] | None = None) -> tuple[torch.nn.Module, dict]:
    """Rebuild the model named in the checkpoint (``medlearn.models.get_model``) and load it.

    Args:
        path: the ``.safetensors`` file.
        map_location: device for the weights.
        builder: build the model with this function instead of the registry (same keyword
            arguments as ``get_model``); never looked up from the file itself.

    Returns:
        ``(model in eval mode, meta)``.
    """
    meta = read_meta(path)
    missing = [k for k in MODEL_FIELDS[:4] if k not in meta]
    if missing:
        raise MedlearnInputError(f"Checkpoint {Path(path).name} lacks {', '.join(missing)}.")
    if builder is None:
        from medlearn.models import get_model as builder
    kwargs = {k: meta[k] for k in MODEL_FIELDS[1:] if meta.get(k) is not None}
    model = builder(meta["name"], **kwargs)
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device=str(map_location))
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(EXTRA_PREFIX)})
    except (RuntimeError, SafetensorError) as exc:
        raise MedlearnInputError(
            f"Checkpoint {Path(path).name} does not fit model {meta['name']!r}: {exc}") from None
    return model.to(map_location).eval(), meta


def save_resume_state(state: dict[str, Any], path: str | Path) -> None:
    """Atomically save what resume needs (tensors, numbers, strings, lists, dicts only)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def load_resume_state(path: str | Path) -> dict[str, Any]:
    """Read a resume state safely (``weights_only=True``: no arbitrary objects)."""
    path = _existing(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of a damaged file
        raise MedlearnInputError(f"Cannot resume from {path.name}: the file is damaged ({exc}).") from None


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ModelUnavailableError(
            f"No checkpoint at {path}; train the model first (python -m medlearn train).")
    return path
