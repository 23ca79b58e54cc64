"""Background training: a job manager that runs run plans on a job backend.

One :class:`JobManager` lives per server process (the app holds it as a shared
resource, not per session), so a job survives the page that started it. A job is data:
a :class:`~medlearn.train.plan.RunPlan` built and checked once where it is asked for
(a bad choice fails there, in words), handed as it is to a backend, which runs it and
sends typed progress records (:mod:`medlearn.train.records`) back. The worker writes the
run store itself (per epoch), so runs outlive the server, and every replica that shares
the store sees them.

Backends (:mod:`medlearn.train.backends`): local worker processes (the default: at most
``max_workers`` at once, extra jobs wait in this manager's queue, each worker with
``cores // max_workers`` torch threads) or a Ray cluster (``MEDLEARN_RAY_ADDRESS``: the
queue is Ray's, each run a Ray task with its CPU/GPU resources). Either way Stop ends a
run after its current batch, and a worker that dies without reporting (killed, out of
memory) leaves a failed run with the reason.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from medlearn.errors import UnknownNameError
from medlearn.train.backends import Backend, exit_reason, make_backend  # noqa: F401  (exit_reason: public here too)
from medlearn.train.records import FINAL, LIVE, EpochResult, Progress, RunResult, RunStarted, RunStatus
from medlearn.train.store import RunStore, process_alive

log = logging.getLogger(__name__)
SHUTDOWN = "The server shut down before this run finished; train it again to continue."
RUN_OPTIONS = ("resume", "checkpoint_root")  # how a plan is run, not what it is


@dataclass
class Job:
    """What the manager knows about one job (its id is the run id in the store).

    Attributes:
        plan: the checked run plan (None for a custom ``target``, which gets ``kwargs``).
        kwargs: the choices it was asked with (``case_key``, ``arch``, ``source``...), as shown.
        options: how it runs (``resume``, ``checkpoint_root``).
        target: the function a worker calls (``run_plan``, or a test's own).
        messages: the progress records received so far.
        handle: the backend's own (a process and its queue, or a Ray task).
    """

    id: int
    target: Callable
    kwargs: dict[str, Any]
    plan: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.QUEUED
    messages: list[Progress] = field(default_factory=list)
    error: str | None = None
    handle: Any = None
    reaped: bool = False  # the ended worker was collected

    @property
    def pid(self) -> int | None:
        return getattr(self.handle, "pid", None)


class JobManager:
    """Start, watch and stop training runs on a job backend.

    Args:
        store: the run store (default: the data home's, or ``MEDLEARN_DATABASE_URL``'s).
        max_workers: local worker processes at once (default ``os.cpu_count()``).
        backend: a :class:`~medlearn.train.backends.Backend` (default: local processes, or
            Ray when ``MEDLEARN_RAY_ADDRESS`` is set).
    """

    def __init__(self, store: RunStore | None = None, max_workers: int | None = None,
                 backend: Backend | None = None):
        self.store = store or RunStore()  # opening it marks runs of dead processes interrupted
        _remove_half_writes()
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self.backend = backend or make_backend(self.max_workers)
        self._jobs: dict[int, Job] = {}
        self._pending: deque[int] = deque()
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._pump = threading.Thread(target=self._run_pump, name="medlearn-jobs", daemon=True)
        self._pump.start()

    # -- public API ------------------------------------------------------------------
    def submit(self, case: str, arch: str, source: str = "phantoms", target: Callable | None = None,
               **kwargs) -> int:
        """Queue a training run; returns the job id (the run id in the store).

        Without ``target`` the choices (those of ``train_recipe``: ``epochs``, ``seed``,
        ``init``...) become a :class:`~medlearn.train.plan.RunPlan` here, checked once (a bad
        choice raises :class:`~medlearn.errors.MedlearnInputError` now, not in a worker), and
        the worker runs it with ``run_plan``. A ``target`` function (tests, tools) is called
        as ``target(case_key, arch, source, **kwargs, callbacks, store, run_id)`` instead."""
        from medlearn.train.recipes import plan_recipe, run_plan

        options = {k: kwargs.pop(k) for k in RUN_OPTIONS if k in kwargs}
        kwargs = {"case_key": case, "arch": arch, "source": source, **kwargs}
        plan = None
        if target is None:
            choices = {k: v for k, v in kwargs.items() if k != "case_key"}
            plan, target = plan_recipe(case, store=self.store, **choices), run_plan
        config = plan.to_dict() if plan is not None else {"queued": kwargs}  # every replica reads the plan
        run_id = self.store.create_run(case, arch, source, config, status=RunStatus.QUEUED)
        with self._lock:
            self._jobs[run_id] = Job(run_id, target, kwargs, plan, options)
            self._pending.append(run_id)
            self._dispatch()
        return run_id

    def find_live(self, case: str, arch: str, source: str = "phantoms", **choices) -> int | None:
        """The oldest queued or running job training this case's ``arch`` on ``source``, if any,
        so sessions that all wait for the same model share one job (its run becomes the model):
        this server's jobs first, then live runs other replicas of a shared store started.
        Given ``choices`` (e.g. ``time_budget_s=None``: not a quick first model) must match the
        job's own, an absent one counting as None."""
        def same(k: dict) -> bool:
            return (k.get("case_key"), k.get("arch"), k.get("source")) == (case, arch, source) and all(
                k.get(name) == value for name, value in choices.items())

        with self._lock:
            for job in self._jobs.values():
                if job.status in LIVE and same(job.kwargs):
                    return job.id
        # another replica sharing this store may be training it already: one run for the deployment
        for status in (RunStatus.RUNNING, RunStatus.QUEUED):
            for run in sorted(self.store.list_runs(case=case, arch=arch, status=status), key=lambda r: r.id):
                asked = {"case_key": run.case, "arch": run.arch, "source": run.source,
                         **run.config.get("queued", run.config)}  # its plan, or a custom target's kwargs
                if run.id not in self._jobs and same(asked):
                    return run.id
        return None

    def submit_race(self, case: str, archs: list[str], source: str = "phantoms", seed: int = 0,
                    **kwargs) -> list[int]:
        """One job per architecture, all on the same split (the same ``seed``)."""
        return [self.submit(case, arch, source, seed=seed, **kwargs) for arch in archs]

    def stop(self, job_id: int) -> bool:
        """Ask a job to stop after its current batch (a queued job is dropped). True if it was live."""
        with self._lock:
            job = self._get(job_id)
            if job.status == RunStatus.QUEUED and job_id in self._pending:
                self._pending.remove(job_id)
                job.status = RunStatus.STOPPED
                self.store.finish(job_id, RunStatus.STOPPED, error="Stopped before it started.")
                return True
            if job.status in LIVE:
                self.backend.request_stop(job)
                return True
            return False

    def status(self, job_id: int) -> RunStatus:
        """The job's :class:`~medlearn.train.records.RunStatus` (also for runs of other servers)."""
        with self._lock:
            if job_id in self._jobs:
                return self._jobs[job_id].status
        return RunStatus(self.store.get_run(job_id).status)

    def metrics(self, job_id: int, kind: str | None = None, since: int = 0) -> list[Progress]:
        """Progress records received so far (``kind``: ``"batch"``, ``"epoch"``, ``"end"``,
        ``"result"``). A run this server did not start (before a restart, or on another
        replica) gives its stored epochs, as the store has them now."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                messages = [EpochResult(job_id, metrics=m) for m in self.store.get_run(job_id).epochs][since:]
            else:
                messages = job.messages[since:]
        return [m for m in messages if kind is None or m.kind == kind]

    def job(self, job_id: int) -> Job:
        return self._get(job_id)

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def wait(self, job_id: int, timeout: float | None = None) -> RunStatus:
        """Block until the job has finished (or ``timeout`` seconds); returns its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.status(job_id) not in FINAL and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)
        return self.status(job_id)

    def close(self, timeout: float = 10.0) -> None:
        """Stop every job, wait up to ``timeout`` s, end stragglers, end the drain thread,
        then collect every worker (none is left behind, not even a zombie)."""
        with self._lock:
            for job_id in list(self._pending):
                self.stop(job_id)
            live = [j for j in self._jobs.values() if j.handle is not None and not j.reaped]
            for job in live:
                self.backend.request_stop(job)
        for job in live:
            self.backend.end(job, timeout)
        self._closed.set()
        self._pump.join(5)
        with self._lock:
            for job in live:
                if not job.reaped:
                    self._reap(job, RunStatus.INTERRUPTED, SHUTDOWN)
        self.backend.close()

    # -- internals ---------------------------------------------------------------------
    def _get(self, job_id: int) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownNameError(f"No job {job_id} was started by this server.") from None

    def _dispatch(self) -> None:
        # a local slot is free once its worker has ended, not when it reported its result;
        # a backend with a queue of its own (Ray) takes every job at once
        running = sum(j.handle is not None and not j.reaped for j in self._jobs.values())
        slots = self.backend.slots(self.max_workers)
        while self._pending and (slots is None or running < slots):
            job = self._jobs[self._pending.popleft()]
            self.backend.launch(job, self.store)
            if not self.backend.queues_jobs:
                job.status = RunStatus.RUNNING
            running += 1

    def _run_pump(self) -> None:
        while not self._closed.is_set():
            try:
                with self._lock:
                    for job in [j for j in self._jobs.values() if j.handle is not None and not j.reaped]:
                        self._receive(job, self.backend.drain(job))
                    for job in [j for j in self._jobs.values() if j.handle is not None and not j.reaped]:
                        if self.backend.ended(job):
                            self._reap(job)
                    self._dispatch()
            except Exception:  # e.g. a locked database: keep serving the other jobs, retry next tick
                log.exception("job manager: error while collecting job results")
            time.sleep(0.05)

    def _receive(self, job: Job, records: list[Progress]) -> None:
        for record in records:
            if isinstance(record, RunStarted):
                if job.status == RunStatus.QUEUED:
                    job.status = RunStatus.RUNNING
                continue
            job.messages.append(record)
            if job.status == RunStatus.QUEUED:  # a backend's queue let it start
                job.status = RunStatus.RUNNING
            if isinstance(record, RunResult):
                job.status, job.error = RunStatus(record.status), record.error

    def _reap(self, job: Job, status: RunStatus = RunStatus.FAILED, error: str | None = None) -> None:
        """Collect an ended worker; one that died without reporting (killed, out of memory,
        crashed, or ended by :meth:`close`) gets ``status`` and ``error`` (default: why it ended)."""
        why = self.backend.collect(job)
        self._receive(job, self.backend.drain(job))
        if job.status in LIVE:
            job.status, job.error = status, error or why
            self.store.finish(job.id, status, error=job.error)
            _remove_half_writes()
        self.backend.release(job)
        job.reaped = True


def _remove_half_writes() -> None:
    """Delete the temporary checkpoint files of processes killed mid-write (the checkpoint
    module, and torch with it, is imported here, not when the server imports this one)."""
    from medlearn.train.checkpoints import checkpoint_root, remove_orphan_temp_files

    remove_orphan_temp_files(checkpoint_root(), process_alive)


@lru_cache(maxsize=1)
def shared_manager() -> JobManager:
    """The one job manager of this server process (created on first use)."""
    return JobManager()
