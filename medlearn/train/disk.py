"""Disk use of the data home, and a clean-up of training files no run can use any more.

The data home holds datasets, the run store and the checkpoints folder; in the latter,
each model checkpoint (``.safetensors`` + ``.json`` sidecar) may have a resume file
(``.resume.pt``: optimiser and RNG states, 100-150 MB for a ResNet-18) kept while its run
can still resume. :func:`disk_use` splits the home's size into those parts;
:func:`cleanup_plan` lists what can go and why, :func:`clean_up` deletes it:

* resume files whose checkpoint is gone, whose latest run finished, or whose latest run
  failed, stopped or was interrupted more than ``older_than_days`` ago (an unused one:
  last written that long ago);
* checkpoints (with sidecar and resume file) whose every run failed;
* temporary files of writers killed mid-write.

Never deleted: anything a queued or running run of the same case, architecture and data
may write or resume from, and a checkpoint that a finished (``done``) or stopped run
points to: pages serve and compare those.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from medlearn.train.checkpoints import (CHECKPOINT_SUFFIX, RESUME_SUFFIX, TEMP_SUFFIX, checkpoint_of_resume,
                                        checkpoint_path, checkpoint_root, resume_path, temp_writer_pid)
from medlearn.data.home import data_home
from medlearn.train.records import LIVE
from medlearn.train.store import RunRecord, RunStore, process_alive

DAY = 86400.0
PARTS = ("checkpoints", "resume files", "datasets", "runs", "other")
KEPT = ("done", "stopped")  # runs whose checkpoint a page may serve or compare


@dataclass(frozen=True)
class DiskUse:
    """Bytes used in the data home, per part (see :data:`PARTS`)."""

    checkpoints: int = 0
    resume_files: int = 0
    datasets: int = 0
    runs: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.checkpoints + self.resume_files + self.datasets + self.runs + self.other

    def parts(self) -> dict[str, int]:
        """``{part name: bytes}`` in the order of :data:`PARTS`."""
        return dict(zip(PARTS, (self.checkpoints, self.resume_files, self.datasets, self.runs, self.other)))


@dataclass(frozen=True)
class Removable:
    """A file (or a checkpoint's group of files) the clean-up would delete, and why."""

    path: Path
    bytes: int
    reason: str
    kind: str  # "resume file", "checkpoint" or "temporary file"


def disk_use(store: RunStore, root: str | Path | None = None) -> DiskUse:
    """The size of the data home (the folder of ``store``'s database) split into checkpoints
    (``root``, default :func:`checkpoint_root`), resume files, datasets, the run store and
    the rest."""
    from medlearn.data.home import datasets_dir

    home = store.path.parent if store.path else data_home()  # a database server keeps no file here
    root = Path(root) if root else checkpoint_root()
    sizes = dict.fromkeys(("checkpoints", "resume_files", "datasets", "runs", "other"), 0)
    runs_files = {store.path.name + s for s in ("", "-wal", "-shm", "-journal")} if store.path else set()
    datasets = datasets_dir()
    for folder in [home] + ([] if _inside(root, home) else [root]):
        for path, size in _files(folder):
            if _inside(path, root):
                part = "resume_files" if path.name.endswith(RESUME_SUFFIX) else "checkpoints"
            elif _inside(path, datasets):
                part = "datasets"
            elif path.parent == home and path.name in runs_files:
                part = "runs"
            else:
                part = "other"
            sizes[part] += size
    return DiskUse(**sizes)


def cleanup_plan(store: RunStore, older_than_days: float = 7.0, root: str | Path | None = None,
                 now: float | None = None) -> list[Removable]:
    """What :func:`clean_up` would delete under ``root`` (default :func:`checkpoint_root`), and why."""
    root = Path(root) if root else checkpoint_root()
    if not root.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than_days * DAY
    runs = store.list_runs()
    live = {(r.case, r.arch, r.source) for r in runs if r.status in LIVE}
    kept = {Path(r.checkpoint) for r in runs if r.status in KEPT and r.checkpoint}
    owners: dict[Path, list[RunRecord]] = {}
    for run in runs:
        if run.status not in LIVE:  # its checkpoint is being written
            owners.setdefault(checkpoint_path(root, run.case, run.arch, run.source, run.config), []).append(run)

    def busy(checkpoint: Path) -> bool:
        rel = checkpoint.relative_to(root).parts
        return len(rel) == 3 and any((rel[0], rel[1]) == (c, a) and rel[2].startswith(f"{s}-") for c, a, s in live)

    plan: list[Removable] = []
    for ckpt in sorted(root.rglob(f"*{CHECKPOINT_SUFFIX}")):
        mine = owners.get(ckpt, [])
        if busy(ckpt) or ckpt in kept or not mine or any(r.status != "failed" for r in mine):
            continue
        group = [p for p in (ckpt, ckpt.with_suffix(".json"), resume_path(ckpt)) if p.is_file()]
        plan.append(Removable(ckpt, sum(_size(p) for p in group), _runs_text(mine, "failed"), "checkpoint"))
    planned = {item.path for item in plan}
    for resume in sorted(root.rglob(f"*{RESUME_SUFFIX}")):
        ckpt = checkpoint_of_resume(resume)
        if ckpt in planned or busy(ckpt):
            continue
        reason = _resume_reason(ckpt, owners.get(ckpt, []), resume, cutoff, older_than_days)
        if reason:
            plan.append(Removable(resume, _size(resume), reason, "resume file"))
    for tmp in sorted(root.rglob(f".*{TEMP_SUFFIX}")):
        pid = temp_writer_pid(tmp)
        if pid is not None and not process_alive(pid):
            plan.append(Removable(tmp, _size(tmp), "left by a process killed while writing it", "temporary file"))
    return plan


def clean_up(store: RunStore, paths: list[str | Path], older_than_days: float = 7.0,
             root: str | Path | None = None) -> list[Removable]:
    """Delete the items of ``paths`` that :func:`cleanup_plan` still lists now (a run may have
    started since the plan was shown); returns what was deleted."""
    wanted = {Path(p) for p in paths}
    done = []
    for item in cleanup_plan(store, older_than_days, root):
        if item.path not in wanted:
            continue
        group = [item.path]
        if item.kind == "checkpoint":
            group += [item.path.with_suffix(".json"), resume_path(item.path)]
            store.forget_checkpoint(item.path)
        for path in group:
            path.unlink(missing_ok=True)
        done.append(item)
    return done


def _resume_reason(ckpt: Path, runs: list[RunRecord], resume: Path, cutoff: float, days: float) -> str | None:
    if not ckpt.is_file():
        return "its checkpoint is gone: nothing to resume"
    if not runs:
        return f"no run uses it and it is older than {days:g} days" if _mtime(resume) < cutoff else None
    latest = max(runs, key=lambda r: r.created)
    if latest.status == "done":
        return "its run finished: nothing left to resume"
    ended = latest.finished or latest.started or latest.created
    if ended < cutoff:
        return f"its run {latest.status} more than {days:g} days ago"
    return None


def _runs_text(runs: list[RunRecord], status: str) -> str:
    ids = ", ".join(str(r.id) for r in sorted(runs, key=lambda r: r.id))
    return f"run {ids} {status}" if len(runs) == 1 else f"runs {ids} all {status}"


def _files(folder: Path):
    """``(path, bytes)`` of every file below ``folder`` (links are not followed)."""
    for top, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(top) / name
            try:
                stat = path.lstat()
            except OSError:  # removed meanwhile
                continue
            yield path, stat.st_size


def _inside(path: Path, folder: Path) -> bool:
    return path.is_relative_to(folder)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
