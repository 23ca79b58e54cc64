"""The Ray job backend on a private one-machine Ray cluster: runs, progress, stop, a killed worker.

Skips when Ray is not installed (``.ci/run`` installs it)."""

import os
import signal
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'ray[default]'); .ci/run installs it")

from medlearn.train.backends import RayBackend  # noqa: E402
from medlearn.train.jobs import JobManager  # noqa: E402
from medlearn.train.records import BatchProgress, EpochResult, RunStatus  # noqa: E402
from medlearn.train.store import RunStore  # noqa: E402
from train_helpers import fit_tiny  # noqa: E402

HERE = Path(__file__).parent


def _until(predicate, timeout=90.0, what="the job"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def backend():
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), old) if p)  # Ray workers import train_helpers
    try:
        b = RayBackend("local", cpus=0.5)
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    yield b
    b.close()
    assert not ray.is_initialized()


@pytest.fixture
def manager(backend, tmp_path):
    m = JobManager(RunStore(tmp_path / "runs.sqlite"), backend=backend)
    yield m
    for job in m.jobs():
        m.stop(job.id)
    for job in m.jobs():
        m.wait(job.id, 30)
    m._closed.set()  # the backend (and Ray) belong to the module fixture: stop only the pump
    m._pump.join(5)


def test_a_run_trains_as_a_ray_task_and_streams_typed_progress(manager):
    job = manager.submit("breast", "tiny", target=fit_tiny, epochs=2)
    assert manager.wait(job, 120) == RunStatus.DONE
    records = manager.metrics(job)
    assert any(isinstance(r, BatchProgress) for r in records)
    assert [r.epoch for r in records if isinstance(r, EpochResult)] == [1, 2]
    stored = manager.store.get_run(job)
    assert stored.status == "done" and [e["epoch"] for e in stored.epochs] == [1, 2]
    assert stored.pid != os.getpid()  # trained in a Ray worker, not in the server


def test_stop_ends_a_ray_run_after_its_batch(manager):
    job = manager.submit("breast", "tiny", target=fit_tiny, epochs=200, delay=0.05)
    _until(lambda: manager.metrics(job, "batch"), what="the first batch")
    assert manager.stop(job)
    assert manager.wait(job, 60) == RunStatus.STOPPED
    assert manager.store.get_run(job).status == "stopped"


def test_a_killed_ray_worker_leaves_a_failed_run_with_the_reason(manager):
    job = manager.submit("breast", "tiny", target=fit_tiny, epochs=200, delay=0.05)
    _until(lambda: manager.metrics(job, "epoch"), what="the first epoch")
    pid = manager.store.get_run(job).pid
    os.kill(pid, signal.SIGKILL)
    assert manager.wait(job, 60) == RunStatus.FAILED
    record = manager.store.get_run(job)
    assert record.status == "failed" and "Ray worker" in record.error and "killed" in record.error
    later = manager.submit("breast", "tiny", target=fit_tiny, epochs=1)  # the cluster goes on
    assert manager.wait(later, 120) == RunStatus.DONE


def test_a_run_asking_for_two_workers_trains_data_parallel_through_ray_train(backend, tmp_path):
    """MEDLEARN_RAY_WORKERS=2 (or several GPUs): one run on two Ray Train workers with DDP (gloo on
    CPUs); rank 0 streams progress and writes the store and the checkpoint; Stop stops both ranks."""
    pytest.importorskip("ray.train.torch", reason="Ray Train is not installed (pip install 'ray[train]')")
    from medlearn.cases import get_case
    from medlearn.train.checkpoints import read_meta

    ddp = RayBackend("local", cpus=0.5, workers=2)
    assert ddp.workers == 2
    m = JobManager(RunStore(tmp_path / "runs.sqlite"), backend=ddp)
    arch = get_case("breast").recipe.first_network
    small = dict(epochs=2, n_train=16, n_val=8, input_size=32, width=4, checkpoint_root=str(tmp_path / "ckpt"))
    try:
        job = m.submit("breast", arch, "phantoms", **small)
        assert m.wait(job, 300) == RunStatus.DONE, m.store.get_run(job).error
        run = m.store.get_run(job)
        assert [e["epoch"] for e in run.epochs] == [1, 2]
        assert any(isinstance(r, BatchProgress) for r in m.metrics(job))
        assert read_meta(run.checkpoint)["ranks"] == 2  # trained by two data-parallel workers
        long = m.submit("breast", arch, "phantoms", **{**small, "epochs": 400, "seed": 1})
        _until(lambda: m.metrics(long, "batch"), timeout=240, what="the first batch on two workers")
        assert m.stop(long)
        assert m.wait(long, 120) == RunStatus.STOPPED  # both ranks left the same batch: no rank hangs
    finally:
        for job in m.jobs():
            m.stop(job.id)
        for job in m.jobs():
            m.wait(job.id, 60)
        m._closed.set()
        m._pump.join(5)
        for actor in (ddp._board, ddp._queue.actor):
            ray.kill(actor)
