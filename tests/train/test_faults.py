"""Faults (issue 12): a worker killed mid-epoch, a full disk during a checkpoint write, a
process killed while writing the store and a checkpoint. Real processes, tiny models."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from medlearn.train import checkpoints as C
from medlearn.train.jobs import JobManager
from medlearn.train.store import RunStore
from train_helpers import TinyClassifier, build, fit_tiny

TARGET = fit_tiny
HERE = Path(__file__).resolve().parent
META = {"name": "tiny", "in_channels": 1, "num_classes": 2, "spatial_dims": 2, "width": 4, "input_size": 8,
        "metrics": {"epoch": 1}}


def _until(predicate, timeout=60.0, what="the job"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(f"*{C.TEMP_SUFFIX}")]


@pytest.fixture
def manager(tmp_path):
    m = JobManager(RunStore(tmp_path / "runs.sqlite"), max_workers=1)
    yield m
    m.close()


def test_worker_killed_mid_epoch_fails_the_run_and_the_manager_goes_on(manager):
    ckpt = C.checkpoint_root() / "breast" / "tiny" / "killed.safetensors"
    killed = manager.submit("breast", "tiny", target=TARGET, epochs=100, delay=0.05, checkpoint=str(ckpt))
    after = manager.submit("breast", "tiny", target=TARGET, epochs=1)
    _until(lambda: manager.metrics(killed, "epoch"))
    seen = len(manager.metrics(killed))
    _until(lambda: manager.metrics(killed, "batch", since=seen))  # mid-epoch, after one checkpoint
    pid = manager.job(killed).pid
    os.kill(pid, signal.SIGKILL)

    assert manager.wait(killed, 30) == "failed"
    record = manager.store.get_run(killed)
    assert record.status == "failed" and record.finished is not None
    assert "killed by SIGKILL" in record.error and "memory" in record.error
    assert record.epochs and [e["epoch"] for e in record.epochs] == list(range(1, len(record.epochs) + 1))
    _, meta = C.load_checkpoint(ckpt, builder=build)  # the last complete checkpoint still loads
    assert 1 <= meta["metrics"]["epoch"] <= len(record.epochs)
    assert _temp_files(C.checkpoint_root()) == []  # a write it was killed in is cleaned up

    assert manager.wait(after, 60) == "done"  # the manager goes on with the queue
    assert manager.store.get_run(after).status == "done"
    assert not Path(f"/proc/{pid}").exists()  # the killed worker was reaped


class _FullDisk:
    """``os.fdopen`` whose files, from the ``fail_from``-th temporary checkpoint file on,
    write half their bytes and then raise ``ENOSPC``, as a full disk does."""

    def __init__(self, fail_from: int):
        self.real, self.fail_from, self.opened, self.failed = os.fdopen, fail_from, 0, 0

    def __call__(self, fd, *args, **kwargs):
        f = self.real(fd, *args, **kwargs)
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(C.TEMP_SUFFIX):
            return f
        self.opened += 1
        return f if self.opened < self.fail_from else _HalfWriter(f, self)


class _HalfWriter:
    def __init__(self, f, disk: _FullDisk):
        self.f, self.disk = f, disk

    def write(self, data):
        self.f.write(bytes(data)[: len(data) // 2])
        self.f.flush()
        self.disk.failed += 1
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def test_full_disk_during_a_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    from medlearn.train.recipes import train_recipe

    tiny = dict(n_train=8, n_val=4, input_size=32, width=4, batch_size=4)
    store = RunStore(tmp_path / "runs.sqlite")
    first = train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, epochs=1, **tiny)
    path = Path(first.checkpoint)
    before = path.read_bytes()
    # a second run of the same configuration: its first write is the checkpoint, which fails half-way
    disk = _FullDisk(fail_from=1)
    monkeypatch.setattr(os, "fdopen", disk)
    with pytest.raises(OSError, match="Disk full") as raised:
        train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, epochs=1, **tiny)
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC and disk.failed == 1
    run = store.list_runs()[0]
    assert run.id != first.id and run.status == "failed"
    assert "disk full" in run.error.lower() and "previous file is kept" in run.error
    assert path.read_bytes() == before  # no half file replaced the old checkpoint
    C.load_checkpoint(path)
    assert _temp_files(tmp_path) == []


def test_full_disk_on_a_later_epoch_fails_the_run_after_the_good_epochs(tmp_path, monkeypatch):
    from medlearn.train.recipes import train_recipe

    store = RunStore(tmp_path / "runs.sqlite")
    disk = _FullDisk(fail_from=4)  # epoch 1 writes checkpoint, sidecar, resume state; epoch 2 fails
    monkeypatch.setattr(os, "fdopen", disk)
    with pytest.raises(OSError, match="Disk full"):
        train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, epochs=3, n_train=8, n_val=4,
                     input_size=32, width=4, batch_size=4)
    monkeypatch.undo()
    run = store.list_runs()[0]
    assert run.status == "failed" and "disk full" in run.error.lower()
    path = next(tmp_path.rglob(f"*{C.CHECKPOINT_SUFFIX}"))
    _, meta = C.load_checkpoint(path)
    assert meta["metrics"]["epoch"] == 1  # the last good checkpoint
    assert C.load_resume_state(C.resume_path(path))["epoch"] == 0  # and its resume state
    assert _temp_files(tmp_path) == []


WRITER = textwrap.dedent("""
    import os, sqlite3, sys, time
    from medlearn.train import checkpoints as C
    from medlearn.train.store import RunStore
    from train_helpers import TinyClassifier

    store = RunStore(sys.argv[1])
    run = store.create_run("breast", "tiny", "phantoms", {}, status="running")  # this process
    store.log_epoch(run, {"epoch": 1})
    con = sqlite3.connect(store.path)  # a store write in progress: never committed
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO epochs VALUES (?, 2, '{}', 0)", (run,))
    real_fsync = os.fsync

    def stuck(fd):  # the checkpoint's bytes are written; the rename never comes
        print(run, flush=True)
        time.sleep(600)

    os.fsync = stuck
    C.save_checkpoint(TinyClassifier(width=8), {"name": "tiny"}, sys.argv[2])
""")


def test_process_killed_while_writing_store_and_checkpoint(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    ckpt = C.checkpoint_root() / "breast" / "tiny" / "m.safetensors"
    good = TinyClassifier()
    C.save_checkpoint(good, META, ckpt)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store_path), str(ckpt)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        run = int(writer.stdout.readline())
        assert _temp_files(ckpt.parent)  # killed mid-write: a temporary file is on disk
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(30)
        writer.stdout.close()

    manager = JobManager(RunStore(store_path), max_workers=1)  # the next start of the server
    try:
        record = manager.store.get_run(run)
        assert record.status == "interrupted" and "ended before the run finished" in record.error
        assert [e["epoch"] for e in record.epochs] == [1]  # the uncommitted write is gone
        assert _temp_files(ckpt.parent) == []
        loaded, meta = C.load_checkpoint(ckpt, builder=build)
        assert meta == META
        # the store still takes new runs
        assert manager.store.get_run(manager.store.create_run("lung", "tiny", "phantoms", {})).status == "running"
    finally:
        manager.close()


def test_orphan_temp_files_of_live_writers_are_kept(tmp_path):
    mine = tmp_path / f".m.safetensors.{os.getpid()}.abc123.tmp"
    dead_child = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_child.wait()
    theirs = tmp_path / "sub" / f".m.safetensors.{dead_child.pid}.abc123.tmp"
    other = tmp_path / ".notes.tmp"  # not written by atomic_write: left alone
    away = tmp_path / f".m.safetensors.{dead_child.pid}_another-host.abc123.tmp"  # shared storage: not ours to judge
    here = tmp_path / f".n.safetensors.{dead_child.pid}_{C.host_tag()}.abc123.tmp"
    for p in (mine, theirs, other, away, here):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half")
    from medlearn.train.store import process_alive

    assert sorted(C.remove_orphan_temp_files(tmp_path, process_alive)) == sorted([theirs, here])
    assert mine.exists() and other.exists() and away.exists() and not theirs.exists()
    assert C.temp_writer_pid(mine) == os.getpid() and C.temp_writer_pid(other) is None
