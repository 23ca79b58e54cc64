"""Job backends: where the job manager's runs train.

* :class:`LocalBackend` (the default): one ``spawn``-ed worker process per run on this
  machine, its progress through a ``multiprocessing.Queue``, a stop through an ``Event``.
* :class:`RayBackend` (``MEDLEARN_RAY_ADDRESS`` set, e.g. ``ray://head:10001`` or
  ``127.0.0.1:6379``): each run is a Ray task with the CPUs and GPUs it asks for
  (``MEDLEARN_RAY_CPUS``, default 1; ``MEDLEARN_RAY_GPUS``, default 0), Ray queues them
  across the cluster, progress comes back through one Ray queue and stops through one
  small actor. Workers need MedLearn installed and the shared run store and checkpoint
  folder (``MEDLEARN_DATABASE_URL``, ``MEDLEARN_HOME``), which are passed on to them.
  A run asking for several GPUs (``MEDLEARN_RAY_GPUS`` above 1), or for several workers
  (``MEDLEARN_RAY_WORKERS``, e.g. CPU workers on several machines), trains data-parallel
  through Ray Train's ``TorchTrainer``: one worker per GPU, PyTorch DDP between them
  (NCCL on GPUs, gloo on CPUs); rank 0 runs :func:`run_job` (store, progress, stop,
  checkpoint) and the other ranks :func:`medlearn.train.recipes.follow_plan`.

Both run the same worker function, :func:`run_job`, which reports typed records
(:mod:`medlearn.train.records`): started, batches, epochs, the end, the result.
"""

from __future__ import annotations

import logging
import os
import queue as queue_module
import signal
import sys
import threading
import time
import types
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from medlearn.errors import MedlearnInputError
from medlearn.train.records import Progress, RunResult, RunStarted, RunStatus

log = logging.getLogger(__name__)
RAY_ADDRESS_ENV = "MEDLEARN_RAY_ADDRESS"
# what a Ray worker must see as the server does: the shared store, data and checkpoints
FORWARDED_ENV = ("MEDLEARN_HOME", "MEDLEARN_DATABASE_URL", "MEDLEARN_CHECKPOINT_DIR", "MEDLEARN_MIRROR",
                 "PYTHONPATH", "OMP_WAIT_POLICY")


class Backend(Protocol):
    """What the job manager asks of a backend (``job`` is a :class:`~medlearn.train.jobs.Job`)."""

    queues_jobs: bool  # True: the backend queues jobs itself (a job is "queued" until it starts)

    def slots(self, max_workers: int) -> int | None: ...
    def launch(self, job, store) -> None: ...
    def drain(self, job) -> list[Progress]: ...
    def ended(self, job) -> bool: ...
    def collect(self, job) -> str | None: ...
    def request_stop(self, job) -> None: ...
    def end(self, job, timeout: float) -> None: ...
    def release(self, job) -> None: ...
    def close(self) -> None: ...


def make_backend(max_workers: int) -> Backend:
    """Ray when ``MEDLEARN_RAY_ADDRESS`` is set, else local worker processes."""
    address = os.environ.get(RAY_ADDRESS_ENV, "").strip()
    return RayBackend(address) if address else LocalBackend(max_workers)


def store_location(store) -> str:
    """How a worker opens the same run store: its SQLite file or its database URL."""
    return str(store.location)


def run_job(job_id: int, target: Callable, plan, kwargs: dict, options: dict, location: str | None,
            put: Callable[[Progress], Any], stop_flag, threads: int | None = None) -> None:
    """The worker's side of one job, on any backend: open the store, say it started, run
    ``target`` with a stop flag and a progress stream, and report the result (never lost)."""
    import torch

    from medlearn.train.callbacks import StopFlag, StoredProgress, Streaming
    from medlearn.train.store import RunStore

    if threads:
        torch.set_num_threads(threads)
    store = RunStore(location)
    if stop_flag.is_set():  # stopped while it waited in the backend's queue
        store.finish(job_id, RunStatus.STOPPED, error="Stopped before it started.")
        put(RunResult(job_id, RunStatus.STOPPED, "Stopped before it started."))
        return
    store.start(job_id)
    put(RunStarted(job_id))
    # the progress stream goes to the replica that started the run, the stored curve to every other
    callbacks = [StopFlag(stop_flag), Streaming(put, every_s=0.2, job=job_id), StoredProgress(store, job_id)]
    try:
        if plan is not None:
            record = target(plan, callbacks=callbacks, store=store, run_id=job_id, **options)
        else:
            record = target(**kwargs, **options, callbacks=callbacks, store=store, run_id=job_id)
        put(RunResult(job_id, RunStatus(record.status), record.error))
    except BaseException as exc:  # reported to the server, never lost
        message = str(exc) or type(exc).__name__
        if store.get_run(job_id).status in ("running", "queued"):
            store.finish(job_id, RunStatus.FAILED, error=message)
        put(RunResult(job_id, RunStatus.FAILED, message))


def exit_reason(exitcode: int | None) -> str:
    """Why a worker that never reported its result ended, in words (``exitcode`` < 0: a signal)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        return f"The training process ended unexpectedly: it was killed by {name}{why}."
    return f"The training process ended unexpectedly (exit code {exitcode})."


# -- local worker processes --------------------------------------------------------------
@dataclass
class LocalHandle:
    process: Any
    queue: Any
    stop_event: Any

    @property
    def pid(self) -> int | None:
        return self.process.pid


class LocalBackend:
    """One ``spawn``-ed process per job on this machine.

    A worker never runs the server's page script: ``spawn`` re-runs the parent's
    ``__main__`` file in the child, and inside a Streamlit script run ``__main__`` is the
    page itself. Workers are started with a neutral ``__main__`` (:func:`_plain_main`).
    Every ended worker is joined, also one that reported its result, so none lingers as a
    zombie.
    """

    queues_jobs = False

    def __init__(self, max_workers: int):
        import multiprocessing

        self._ctx = multiprocessing.get_context("spawn")
        self.threads = max(1, (os.cpu_count() or 1) // max(1, max_workers))

    def slots(self, max_workers: int) -> int:
        return max_workers

    def launch(self, job, store) -> None:
        # Spawned workers copy this environment. Idle OpenMP threads must sleep, not spin:
        # beside the server and other workers, spinning cost 2-14x the CPU time of a
        # training epoch on a busy 2-core machine (docs/RESULTS.md). A user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        q, stop = self._ctx.Queue(), self._ctx.Event()
        process = self._ctx.Process(
            target=_local_worker, args=(job.id, job.target, job.plan, job.kwargs, job.options,
                                        store_location(store), q, stop, self.threads),
            name=f"medlearn-job-{job.id}", daemon=True)
        with _plain_main():
            process.start()
        job.handle = LocalHandle(process, q, stop)

    def drain(self, job) -> list[Progress]:
        out = []
        while True:
            try:
                out.append(job.handle.queue.get_nowait())
            except (queue_module.Empty, EOFError, OSError, ValueError):
                return out

    def ended(self, job) -> bool:
        return not job.handle.process.is_alive()

    def collect(self, job) -> str | None:
        job.handle.process.join()
        return exit_reason(job.handle.process.exitcode)

    def request_stop(self, job) -> None:
        if job.handle is not None:
            job.handle.stop_event.set()

    def end(self, job, timeout: float) -> None:
        process = job.handle.process
        process.join(timeout)
        if process.is_alive():
            process.terminate()
            process.join(2)
        if process.is_alive():
            process.kill()

    def release(self, job) -> None:
        job.handle.queue.close()

    def close(self) -> None:
        pass


def _local_worker(job_id, target, plan, kwargs, options, location, q, stop_event, threads) -> None:
    try:
        run_job(job_id, target, plan, kwargs, options, location, q.put, stop_event, threads)
    finally:
        q.close()
        q.join_thread()


_MAIN_LOCK = threading.Lock()


@contextmanager
def _plain_main():
    """While a worker starts, ``sys.modules["__main__"]`` is an empty module, so ``spawn``
    does not re-run the parent's main script in the child. Inside a Streamlit script run
    that script is the page: each worker would draw the app without a server. Streamlit
    may install a new ``__main__`` meanwhile (another session's rerun); that one is kept."""
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        plain = types.ModuleType("__main__")
        sys.modules["__main__"] = plain
        try:
            yield
        finally:
            if sys.modules.get("__main__") is plain:
                sys.modules["__main__"] = main


# -- Ray ---------------------------------------------------------------------------------
@dataclass
class RayHandle:
    ref: Any
    pid: int | None = None  # Ray workers are not this machine's children


class RayStopFlag:
    """A stop flag a Ray task polls (at most every half second) on the stop board actor."""

    def __init__(self, board, job_id: int, every_s: float = 0.5):
        self.board, self.job_id, self.every_s = board, job_id, every_s
        self._last, self._set = -1e9, False

    def is_set(self) -> bool:
        import ray

        now = time.monotonic()
        if not self._set and now - self._last >= self.every_s:
            self._last = now
            self._set = bool(ray.get(self.board.stopped.remote(self.job_id)))
        return self._set


class RayBackend:
    """Runs each job as a Ray task on the cluster at ``address`` (``"local"``: a private
    single-machine cluster, for tests and laptops)."""

    queues_jobs = True

    def __init__(self, address: str, cpus: float | None = None, gpus: float | None = None,
                 workers: int | None = None):
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise MedlearnInputError(f"{RAY_ADDRESS_ENV} is set but Ray is not installed: "
                                     "pip install 'ray[default]', or unset it to train on this machine.") from None
        self.cpus = float(cpus if cpus is not None else os.environ.get("MEDLEARN_RAY_CPUS", 1))
        self.gpus = float(gpus if gpus is not None else os.environ.get("MEDLEARN_RAY_GPUS", 0))
        asked = workers if workers is not None else os.environ.get("MEDLEARN_RAY_WORKERS", "").strip()
        self.workers = int(asked) if asked else (int(self.gpus) if self.gpus > 1 else 1)
        if self.workers < 1 or (self.gpus > 1 and self.gpus != int(self.gpus)):
            raise MedlearnInputError("MEDLEARN_RAY_WORKERS must be a whole number of at least 1, and several GPUs a "
                                     f"whole number (one per data-parallel worker); got {self.workers} workers, "
                                     f"{self.gpus:g} GPUs.")
        env = {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}
        self._started_ray = not ray.is_initialized()
        try:
            ray.init(address=None if address == "local" else address, namespace="medlearn",
                     ignore_reinit_error=True, log_to_driver=False, include_dashboard=False,
                     runtime_env={"env_vars": env} if env else None)
        except Exception as exc:  # unreachable head, version mismatch
            raise MedlearnInputError(f"Could not join the Ray cluster at {address!r}: {exc}") from None
        self._ray = ray
        self._queue = Queue(actor_options={"num_cpus": 0})
        self._board = _stop_board().options(num_cpus=0).remote()
        self._task = ray.remote(max_retries=0)(_ray_worker)
        self._ddp_task = ray.remote(max_retries=0)(_ray_ddp_driver)
        self._inbox: dict[int, list[Progress]] = defaultdict(list)

    def slots(self, max_workers: int) -> None:
        return None  # Ray's scheduler queues the tasks

    def data_parallel(self, job) -> bool:
        """Whether ``job`` trains on several Ray Train workers at once (a network's run plan)."""
        return self.workers > 1 and job.plan is not None and job.plan.arch != "classic"

    def launch(self, job, store) -> None:
        if self.data_parallel(job):  # the driver task takes no CPU; Ray Train reserves the workers'
            ref = self._ddp_task.options(num_cpus=0, name=f"medlearn-job-{job.id}").remote(
                job.id, job.target, job.plan, job.options, store_location(store), self._queue, self._board,
                self.workers, self.cpus, 1.0 if self.gpus > 1 else self.gpus)
            job.handle = RayHandle(ref)
            return
        ref = self._task.options(num_cpus=self.cpus, num_gpus=self.gpus, name=f"medlearn-job-{job.id}").remote(
            job.id, job.target, job.plan, job.kwargs, job.options, store_location(store), self._queue,
            self._board)
        job.handle = RayHandle(ref)

    def drain(self, job) -> list[Progress]:
        while True:  # one queue for all jobs: sort its records by job
            try:
                batch = self._queue.get_nowait_batch(max(1, self._queue.qsize()))
            except Exception:  # empty (ray.util.queue.Empty) or the queue actor is gone
                break
            if not batch:
                break
            for record in batch:
                self._inbox[record.job].append(record)
        return self._inbox.pop(job.id, [])

    def ended(self, job) -> bool:
        ready, _ = self._ray.wait([job.handle.ref], timeout=0)
        return bool(ready)

    def collect(self, job) -> str | None:
        try:
            self._ray.get(job.handle.ref)
        except Exception as exc:  # WorkerCrashedError, TaskCancelledError, RayTaskError...
            name = type(exc).__name__
            if "Cancelled" in name:
                return "The run was cancelled on the Ray cluster before it finished."
            return f"The Ray worker running this job ended unexpectedly ({name}): it may have been killed or run out of memory."
        return "The Ray task ended without reporting its result."

    def request_stop(self, job) -> None:
        self._board.stop.remote(job.id)

    def end(self, job, timeout: float) -> None:
        ready, _ = self._ray.wait([job.handle.ref], timeout=timeout)
        if not ready:
            self._ray.cancel(job.handle.ref, force=True)
            self._ray.wait([job.handle.ref], timeout=5)

    def release(self, job) -> None:
        self._inbox.pop(job.id, None)
        self._board.forget.remote(job.id)  # an id may come again (another store, a reset one)

    def close(self) -> None:
        for actor in (self._board, getattr(self._queue, "actor", None)):
            if actor is not None:
                try:
                    self._ray.kill(actor)
                except Exception:
                    log.debug("Ray actor already gone", exc_info=True)
        if self._started_ray:
            self._ray.shutdown()


def _ray_worker(job_id, target, plan, kwargs, options, location, progress_queue, board) -> None:
    """A Ray task: the same worker as a local process, with Ray's queue and stop board."""
    run_job(job_id, target, plan, kwargs, options, location, progress_queue.put, RayStopFlag(board, job_id))


def _ray_ddp_driver(job_id, target, plan, options, location, progress_queue, board, workers: int,
                    cpus: float, gpus_per_worker: float) -> None:
    """A Ray task that trains one run data-parallel with Ray Train's ``TorchTrainer``
    (``workers`` workers, each ``cpus`` CPUs and ``gpus_per_worker`` GPUs; Ray Train sets up
    the process group). Rank 0 is the run's usual worker; the others follow it."""
    import tempfile

    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    def loop(_config) -> None:
        import ray.train

        if ray.train.get_context().get_world_rank() == 0:
            ended: list[RunResult] = []

            def put(record) -> None:
                if isinstance(record, RunResult):
                    ended.append(record)
                progress_queue.put(record)

            run_job(job_id, target, plan, {}, options, location, put, RayStopFlag(board, job_id))
            if ended and ended[-1].status == RunStatus.FAILED:  # recorded; now Ray Train ends the other ranks
                raise RuntimeError(ended[-1].error or "the run failed")
        else:
            from medlearn.train.recipes import follow_plan

            follow_plan(plan, **{k: v for k, v in options.items() if k in ("resume", "checkpoint_root")})

    resources = {"CPU": cpus, **({"GPU": gpus_per_worker} if gpus_per_worker else {})}
    storage = os.path.join(tempfile.gettempdir(), "medlearn-ray-train")  # Ray Train's own records, not ours
    TorchTrainer(loop, scaling_config=ScalingConfig(num_workers=workers, use_gpu=gpus_per_worker > 0,
                                                    resources_per_worker=resources),
                 run_config=RunConfig(name=f"medlearn-job-{job_id}", storage_path=storage)).fit()


def _stop_board():
    """The actor class holding which jobs were asked to stop (built when Ray is in use)."""
    import ray

    @ray.remote
    class StopBoard:
        def __init__(self):
            self._stopped: set[int] = set()

        def stop(self, job_id: int) -> None:
            self._stopped.add(job_id)

        def stopped(self, job_id: int) -> bool:
            return job_id in self._stopped

        def forget(self, job_id: int) -> None:
            self._stopped.discard(job_id)

    return StopBoard
