"""Disk use of the data home and the clean-up of resume files and failed runs' checkpoints."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medlearn.data.home import datasets_dir
from medlearn.train import checkpoints as C
from medlearn.train.disk import DAY, clean_up, cleanup_plan, disk_use
from medlearn.train.store import RunStore


def _write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def _run(store: RunStore, status: str, case="breast", arch="alexnet", epochs=1, ended_days_ago=0.0,
         files=("ckpt", "json", "resume"), record_checkpoint=True) -> tuple[int, Path]:
    """A run of a made-up plan with its files in the checkpoint folder (100 / 10 / 1000 bytes)."""
    config = {"epochs": epochs, "arch": arch}
    run = store.create_run(case, arch, "phantoms", config)
    ckpt = C.checkpoint_path(C.checkpoint_root(), case, arch, "phantoms", config)
    sizes = {"ckpt": (ckpt, 100), "json": (ckpt.with_suffix(".json"), 10), "resume": (C.resume_path(ckpt), 1000)}
    for name in files:
        _write(*sizes[name])
    if status != "running":
        store.finish(run, status, checkpoint=str(ckpt) if record_checkpoint and status != "failed" else None)
        with sqlite3.connect(store.path) as con:
            con.execute("UPDATE runs SET finished=? WHERE id=?", (time.time() - ended_days_ago * DAY, run))
    return run, ckpt


@pytest.fixture
def store():
    return RunStore()


def test_disk_use_splits_the_data_home(store):
    home = store.path.parent
    _write(C.checkpoint_root() / "breast" / "alexnet" / "a.safetensors", 300)
    _write(C.checkpoint_root() / "breast" / "alexnet" / "a.json", 20)
    _write(C.checkpoint_root() / "breast" / "alexnet" / "a.resume.pt", 5000)
    _write(datasets_dir() / "busi" / "img.png", 700)
    _write(home / "predictions" / "out.csv", 9)
    use = disk_use(store)
    runs = sum(p.stat().st_size for p in home.glob("runs.sqlite*"))
    assert use.parts() == {"checkpoints": 320, "resume files": 5000, "datasets": 700, "runs": runs, "other": 9}
    assert use.total == 320 + 5000 + 700 + runs + 9 and runs > 0


def test_clean_up_keeps_what_pages_serve_and_live_runs_use(store):
    done, done_ckpt = _run(store, "done", epochs=1)  # a leftover resume file: the run finished
    failed, failed_ckpt = _run(store, "failed", epochs=2)
    # a failed run that rewrote a finished run's file: the finished run still points to it
    _, served = _run(store, "done", epochs=3, files=("ckpt", "json"))
    _run(store, "failed", epochs=3, files=())
    old_stop, old_ckpt = _run(store, "stopped", epochs=4, ended_days_ago=10)
    new_stop, new_ckpt = _run(store, "stopped", epochs=5, ended_days_ago=1)
    _, gone = _run(store, "interrupted", epochs=6, files=("resume",))  # its checkpoint is gone
    # lung/resnet18 trains now: an older failed run of the same model and data is left alone
    _, busy = _run(store, "failed", case="lung", arch="resnet18", epochs=7)
    _run(store, "running", case="lung", arch="resnet18", epochs=8, files=())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = _write(done_ckpt.parent / f".x.safetensors.{dead.pid}.abcd.tmp", 50)

    plan = {item.path: item for item in cleanup_plan(store, older_than_days=7)}
    assert set(plan) == {C.resume_path(done_ckpt), failed_ckpt, C.resume_path(old_ckpt), C.resume_path(gone),
                         orphan}
    assert plan[failed_ckpt].bytes == 1110 and plan[failed_ckpt].kind == "checkpoint"
    assert "failed" in plan[failed_ckpt].reason and "finished" in plan[C.resume_path(done_ckpt)].reason
    assert "stopped more than 7 days ago" in plan[C.resume_path(old_ckpt)].reason
    assert "gone" in plan[C.resume_path(gone)].reason and "killed" in plan[orphan].reason

    removed = clean_up(store, [failed_ckpt, C.resume_path(old_ckpt), orphan])  # what the user confirmed
    assert {item.path for item in removed} == {failed_ckpt, C.resume_path(old_ckpt), orphan}
    assert not failed_ckpt.exists() and not failed_ckpt.with_suffix(".json").exists()
    assert not C.resume_path(failed_ckpt).exists() and not orphan.exists()
    for kept in (done_ckpt, served, old_ckpt, new_ckpt, C.resume_path(new_ckpt), busy, C.resume_path(busy),
                 C.resume_path(done_ckpt), C.resume_path(gone)):
        assert kept.exists(), kept
    assert store.get_run(failed).status == "failed"  # the run's record stays
    assert {i.path for i in cleanup_plan(store)} == {C.resume_path(done_ckpt), C.resume_path(gone)}


def test_clean_up_rechecks_before_deleting(store):
    _, ckpt = _run(store, "failed", epochs=2)
    planned = [item.path for item in cleanup_plan(store)]
    assert planned == [ckpt]
    store.create_run("breast", "alexnet", "phantoms", {"queued": {}}, status="queued")  # queued since
    assert clean_up(store, planned) == [] and ckpt.exists()
