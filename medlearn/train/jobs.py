"""Background training: a job manager that runs recipes in worker processes.

One :class:`JobManager` lives per server process (the app holds it as a shared
resource, not per session), so a job survives the page that started it. Each job runs
in its own ``spawn``-ed process with its own ``multiprocessing.Queue``; a thread in the
server drains the queues into an in-memory message list per job. The worker writes the
run store itself (per epoch), so runs outlive the server too. At most ``max_workers``
jobs run at once (default: the core count); extra jobs wait in a queue. Each worker
uses ``cores // max_workers`` torch threads so jobs do not oversubscribe the CPU.

A worker never runs the server's page script: ``spawn`` re-runs the parent's ``__main__``
file in the child, and inside a Streamlit script run ``__main__`` is the page itself (the
child then drew the whole app "in bare mode", ~30 warnings per job). Workers are started
with a neutral ``__main__`` (:func:`_plain_main`). Every ended worker is joined (reaped)
by the drain thread, also one that reported its result before exiting, so none lingers
as a zombie.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import signal
import sys
import threading
import time
import types
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from medlearn.errors import UnknownNameError
from medlearn.train.store import RunStore, process_alive

log = logging.getLogger(__name__)
RECIPE = "medlearn.train.recipes:train_recipe"
FINAL = ("done", "stopped", "failed", "interrupted")
SHUTDOWN = "The server shut down before this run finished; train it again to continue."


@dataclass
class Job:
    """What the manager knows about one job (its id is the run id in the store)."""

    id: int
    target: str
    kwargs: dict[str, Any]
    status: str = "queued"
    messages: list[dict] = field(default_factory=list)
    error: str | None = None
    process: Any = None
    queue: Any = None
    stop_event: Any = None
    reaped: bool = False  # the ended process was joined and its queue closed

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class JobManager:
    """Start, watch and stop training runs in worker processes.

    Args:
        store: the run store (default: the data home's).
        max_workers: jobs running at once (default ``os.cpu_count()``).
    """

    def __init__(self, store: RunStore | None = None, max_workers: int | None = None):
        import multiprocessing

        self.store = store or RunStore()  # opening it marks runs of dead processes interrupted
        _remove_half_writes()
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self._ctx = multiprocessing.get_context("spawn")
        self._jobs: dict[int, Job] = {}
        self._pending: deque[int] = deque()
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._pump = threading.Thread(target=self._run_pump, name="medlearn-jobs", daemon=True)
        self._pump.start()

    # -- public API ------------------------------------------------------------------
    def submit(self, case: str, arch: str, source: str = "phantoms", target: str = RECIPE, **kwargs) -> int:
        """Queue a training run of ``target`` (``"module:function"``, default ``train_recipe``,
        called with ``case, arch, source, **kwargs`` plus ``callbacks``, ``store``, ``run_id``).
        Returns the job id (the run id in the store)."""
        kwargs = {"case_key": case, "arch": arch, "source": source, **kwargs}
        run_id = self.store.create_run(case, arch, source, {"queued": kwargs}, status="queued")
        with self._lock:
            self._jobs[run_id] = Job(run_id, target, kwargs)
            self._pending.append(run_id)
            self._dispatch()
        return run_id

    def find_live(self, case: str, arch: str, source: str = "phantoms", **choices) -> int | None:
        """The oldest queued or running job training this case's ``arch`` on ``source``, if any,
        so sessions that all wait for the same model share one job (its run becomes the model).
        Given ``choices`` (e.g. ``time_budget_s=None``: not a quick first model) must match the
        job's own, an absent one counting as None."""
        with self._lock:
            for job in self._jobs.values():
                k = job.kwargs
                if job.status in ("queued", "running") and (
                        k.get("case_key"), k.get("arch"), k.get("source")) == (case, arch, source) and all(
                        k.get(name) == value for name, value in choices.items()):
                    return job.id
        return None

    def submit_race(self, case: str, archs: list[str], source: str = "phantoms", seed: int = 0,
                    **kwargs) -> list[int]:
        """One job per architecture, all on the same split (the same ``seed``)."""
        return [self.submit(case, arch, source, seed=seed, **kwargs) for arch in archs]

    def stop(self, job_id: int) -> bool:
        """Ask a job to stop after its current batch (a queued job is dropped). True if it was live."""
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                self._pending.remove(job_id)
                job.status = "stopped"
                self.store.finish(job_id, "stopped", error="Stopped before it started.")
                return True
            if job.status == "running":
                job.stop_event.set()
                return True
            return False

    def status(self, job_id: int) -> str:
        """``queued``, ``running``, ``done``, ``stopped``, ``failed`` (or ``interrupted``)."""
        with self._lock:
            if job_id in self._jobs:
                return self._jobs[job_id].status
        return self.store.get_run(job_id).status

    def metrics(self, job_id: int, kind: str | None = None, since: int = 0) -> list[dict]:
        """Messages received so far (``kind``: ``"batch"``, ``"epoch"``, ``"end"``, ``"result"``).
        A run from before this server started gives its stored epochs."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                epochs = self.store.get_run(job_id).epochs
                messages = [{"job": job_id, "type": "epoch", **m} for m in epochs][since:]
            else:
                messages = job.messages[since:]
        return [m for m in messages if kind is None or m.get("type") == kind]

    def job(self, job_id: int) -> Job:
        return self._get(job_id)

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def wait(self, job_id: int, timeout: float | None = None) -> str:
        """Block until the job has finished (or ``timeout`` seconds); returns its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.status(job_id) not in FINAL and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)
        return self.status(job_id)

    def close(self, timeout: float = 10.0) -> None:
        """Stop every job, wait up to ``timeout`` s, terminate stragglers, end the drain
        thread, then reap every worker process (none is left behind, not even a zombie)."""
        with self._lock:
            for job_id in list(self._pending):
                self.stop(job_id)
            live = [j for j in self._jobs.values() if j.process is not None and not j.reaped]
            for job in live:
                job.stop_event.set()
        for job in live:
            job.process.join(timeout)
            if job.process.is_alive():
                job.process.terminate()
                job.process.join(2)
            if job.process.is_alive():
                job.process.kill()
        self._closed.set()
        self._pump.join(5)
        with self._lock:
            for job in live:
                if not job.reaped:
                    self._reap(job, "interrupted", SHUTDOWN)

    # -- internals ---------------------------------------------------------------------
    def _get(self, job_id: int) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownNameError(f"No job {job_id} was started by this server.") from None

    def _dispatch(self) -> None:
        # a slot is free once its process has ended, not when it reported its result
        running = sum(j.process is not None and not j.reaped for j in self._jobs.values())
        threads = max(1, (os.cpu_count() or 1) // self.max_workers)
        # Spawned workers copy this environment. Idle OpenMP threads must sleep, not spin:
        # beside the server and other workers, spinning cost 2-14x the CPU time of a
        # training epoch on a busy 2-core machine (docs/RESULTS.md). A user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        while self._pending and running < self.max_workers:
            job = self._jobs[self._pending.popleft()]
            job.queue, job.stop_event = self._ctx.Queue(), self._ctx.Event()
            job.process = self._ctx.Process(
                target=_worker, args=(job.id, job.target, job.kwargs, str(self.store.path), job.queue,
                                      job.stop_event, threads), name=f"medlearn-job-{job.id}", daemon=True)
            with _plain_main():
                job.process.start()
            job.status, running = "running", running + 1

    def _run_pump(self) -> None:
        while not self._closed.is_set():
            try:
                with self._lock:
                    for job in [j for j in self._jobs.values() if j.process is not None and not j.reaped]:
                        self._drain(job)
                        if not job.process.is_alive():
                            self._reap(job)
                    self._dispatch()
            except Exception:  # e.g. a locked database: keep serving the other jobs, retry next tick
                log.exception("job manager: error while collecting job results")
            time.sleep(0.05)

    def _drain(self, job: Job) -> None:
        while True:
            try:
                message = job.queue.get_nowait()
            except (queue.Empty, EOFError, OSError, ValueError):
                return
            job.messages.append(message)
            if message.get("type") == "result":
                job.status, job.error = message["status"], message.get("error")

    def _reap(self, job: Job, status: str = "failed", error: str | None = None) -> None:
        """Join an ended worker; one that died without reporting (killed, out of memory,
        crashed, or ended by :meth:`close`) gets ``status`` and ``error`` (default: why it ended)."""
        job.process.join()
        self._drain(job)
        if job.status == "running":
            job.status, job.error = status, error or exit_reason(job.process.exitcode)
            self.store.finish(job.id, status, error=job.error)
            _remove_half_writes()
        job.queue.close()
        job.reaped = True


def _remove_half_writes() -> None:
    """Delete the temporary checkpoint files of processes killed mid-write (the checkpoint
    module, and torch with it, is imported here, not when the server imports this one)."""
    from medlearn.train.checkpoints import checkpoint_root, remove_orphan_temp_files

    remove_orphan_temp_files(checkpoint_root(), process_alive)


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


def _worker(job_id: int, target: str, kwargs: dict, store_path: str, q, stop_event, threads: int) -> None:
    """Entry point of a worker process: run ``target`` with stop flag and streaming callbacks."""
    import torch

    from medlearn.train.callbacks import StopFlag, Streaming

    torch.set_num_threads(threads)
    store = RunStore(store_path)
    store.start(job_id)
    module, _, name = target.partition(":")
    callbacks = [StopFlag(stop_event), Streaming(q.put, every_s=0.2, extra={"job": job_id})]
    try:
        record = getattr(importlib.import_module(module), name)(**kwargs, callbacks=callbacks, store=store,
                                                                 run_id=job_id)
        q.put({"job": job_id, "type": "result", "status": record.status, "error": record.error})
    except BaseException as exc:  # reported to the server, never lost
        message = str(exc) or type(exc).__name__
        if store.get_run(job_id).status in ("running", "queued"):
            store.finish(job_id, "failed", error=message)
        q.put({"job": job_id, "type": "result", "status": "failed", "error": message})
    finally:
        q.close()
        q.join_thread()


@lru_cache(maxsize=1)
def shared_manager() -> JobManager:
    """The one job manager of this server process (created on first use)."""
    return JobManager()
