"""The run store: every training run, its config, per-epoch metrics and checkpoint.

An instructor trains before class; students browse and compare the runs later, after
restarts. By default the database is the SQLite file ``runs.sqlite`` in the data home, in
WAL mode so that the app, worker processes and the command line can read and write it at
once. With ``MEDLEARN_DATABASE_URL`` (``postgresql+psycopg://user@host:5432/medlearn``) it
is one PostgreSQL database, so every replica of a classroom server sees every run (their
checkpoints must then live on storage all replicas share: the data home's ``checkpoints``
folder). Both run the same tables (:data:`RUNS`, :data:`EPOCHS`) and queries; the tables'
version is brought up to date on open (:data:`MIGRATIONS`, :mod:`medlearn.data.database`).
Each call uses its own short transaction, so one ``RunStore`` may be shared by threads.

Statuses: ``queued``, ``running``, ``done``, ``stopped``, ``failed``, and ``interrupted``
for a run whose process died without saying so (found on the next start by checking
whether its process id is still alive on this host; runs of other hosts are left alone).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    REAL,
    Column,
    Connection,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    Table,
    Text,
    delete,
    func,
    literal,
    select,
    update,
)

from medlearn.data.database import insert_ignoring, open_database
from medlearn.data.home import database_target
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.train.records import LIVE, RunStatus

STATUSES = tuple(RunStatus)  # one status enum for the store, the job manager and the pages
_LIVE = tuple(LIVE)
_TIME = Double().with_variant(REAL(), "sqlite")  # seconds since the epoch; REAL as in the first files

METADATA = MetaData()
RUNS = Table(
    "runs", METADATA,
    Column("id", Integer, primary_key=True),  # INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, SERIAL on PostgreSQL
    Column("case_key", Text, nullable=False), Column("arch", Text, nullable=False),
    Column("source", Text, nullable=False), Column("status", Text, nullable=False),
    Column("config", Text, nullable=False), Column("metrics", Text), Column("checkpoint", Text),
    Column("error", Text), Column("pid", Integer), Column("host", Text), Column("created", _TIME, nullable=False),
    Column("started", _TIME), Column("finished", _TIME), Column("seconds", _TIME),
    Column("progress", Text), Column("beat", _TIME),  # version 2: the live batch curve, the worker's last word
    Index("runs_case_arch", "case_key", "arch"),
    sqlite_autoincrement=True)
EPOCHS = Table(
    "epochs", METADATA,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("metrics", Text, nullable=False), Column("logged", _TIME, nullable=False))


def _create_version_1(con: Connection) -> None:
    """Version 1: the tables as they were before versions (a file that has them keeps them).
    When a later migration changes :data:`RUNS` or :data:`EPOCHS`, spell version 1 out here."""
    METADATA.create_all(con)


def _add_progress(con: Connection) -> None:
    """Version 2: ``runs.progress`` (the running epoch's batch losses, JSON, so every replica
    can draw a run's live curve) and ``runs.beat`` (when its worker last wrote)."""
    from sqlalchemy import inspect

    have = {c["name"] for c in inspect(con).get_columns("runs")}
    for column, kind in (("progress", "TEXT"), ("beat", "REAL" if con.dialect.name == "sqlite" else "DOUBLE PRECISION")):
        if column not in have:  # a version-1 file; a new one was created with them
            con.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {column} {kind}")


MIGRATIONS = (_create_version_1, _add_progress)  # migrations[i] brings the tables from version i to i + 1
STALE_S = 900.0  # a running run whose worker (on another host) has not written for this long is interrupted


def default_home() -> Path:
    """The data home (``medlearn.data.home.data_home()``)."""
    from medlearn.data.home import data_home

    return Path(data_home())


@dataclass
class RunRecord:
    """One training run as stored (``epochs`` filled by ``get_run`` only)."""

    id: int
    case: str
    arch: str
    source: str
    status: RunStatus
    config: dict[str, Any]
    metrics: dict[str, Any]
    checkpoint: str | None
    error: str | None
    pid: int | None
    created: float
    started: float | None
    finished: float | None
    seconds: float | None
    epochs: list[dict[str, Any]] = field(default_factory=list)
    progress: dict[str, Any] | None = None  # the running epoch's batch curve (StoredProgress)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunStore:
    """Runs in a database: ``location`` is an SQLite file's path or a database URL; by default
    ``$MEDLEARN_DATABASE_URL``, else ``<data home>/runs.sqlite``.

    ``path`` is the SQLite file (None on a database server), ``url`` the database's URL with
    its password hidden, ``backend`` ``"sqlite"`` or ``"postgresql"``, ``location`` what opens
    the same store in a worker process (the file, or the URL with its password). A bad URL raises
    :class:`~medlearn.errors.MedlearnInputError`; a server that cannot be reached
    :class:`~medlearn.errors.DatabaseUnavailableError` (within seconds, never a hang)."""

    def __init__(self, location: str | Path | None = None):
        self.db = open_database(location if location else database_target("runs.sqlite"), "runs", MIGRATIONS)
        self.path, self.url, self.location = self.db.path, self.db.url, self.db.location
        self.backend = self.db.backend
        self.mark_interrupted()

    def __repr__(self) -> str:
        return f"RunStore({self.url!r})"

    # -- writing -------------------------------------------------------------------
    def create_run(self, case: str, arch: str, source: str, config: dict[str, Any], status: str = RunStatus.RUNNING,
                   pid: int | None = None) -> int:
        """Add a run (``queued`` or ``running``); returns its id."""
        status = _check_status(status)
        now = time.time()
        with self.db.begin() as con:
            result = con.execute(RUNS.insert().values(
                case_key=case, arch=arch, source=source, status=status, config=json.dumps(config, default=str),
                pid=pid or os.getpid(), host=socket.gethostname(), created=now,
                started=now if status == RunStatus.RUNNING else None))
        return int(result.inserted_primary_key[0])

    def start(self, run_id: int, pid: int | None = None, config: dict[str, Any] | None = None) -> None:
        """Mark a queued run as running in process ``pid`` (default: this one), optionally
        replacing its config with the resolved one."""
        values = {"status": RunStatus.RUNNING.value, "pid": pid or os.getpid(), "host": socket.gethostname(),
                  "started": time.time()}
        if config:
            values["config"] = json.dumps(config, default=str)
        with self.db.begin() as con:
            con.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values, beat=values["started"]))

    def log_epoch(self, run_id: int, metrics: dict[str, Any]) -> None:
        """Record one epoch's metrics (replaces the epoch's row if it is logged again on resume)."""
        with self.db.begin() as con:
            row = {"run_id": run_id, "epoch": int(metrics["epoch"]), "metrics": json.dumps(metrics, default=str),
                   "logged": time.time()}
            insert_ignoring(con, EPOCHS, ("run_id", "epoch"), row, update=("metrics", "logged"))
            con.execute(update(RUNS).where(RUNS.c.id == run_id).values(beat=row["logged"]))

    def log_progress(self, run_id: int, progress: dict[str, Any]) -> None:
        """The running epoch's batch curve (``{"epoch", "epochs", "batches": [[position, loss], ...]}``)
        and the worker's heartbeat, for replicas that did not start the run."""
        with self.db.begin() as con:
            con.execute(update(RUNS).where(RUNS.c.id == run_id).values(
                progress=json.dumps(progress, default=str), beat=time.time()))

    def finish(self, run_id: int, status: str, metrics: dict[str, Any] | None = None,
               checkpoint: str | None = None, error: str | None = None) -> None:
        """Close a run with its final status, metrics, checkpoint path or error message."""
        status = _check_status(status)
        now = time.time()
        values = {"status": status, "error": error, "finished": now,
                  "seconds": literal(now, _TIME) - func.coalesce(RUNS.c.started, RUNS.c.created)}
        if metrics is not None:
            values["metrics"] = json.dumps(metrics, default=str)
        if checkpoint:
            values["checkpoint"] = str(checkpoint)
        with self.db.begin() as con:
            con.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))

    def delete_run(self, run_id: int) -> None:
        """Remove a run and its epochs (its checkpoint file stays)."""
        with self.db.begin() as con:
            con.execute(delete(EPOCHS).where(EPOCHS.c.run_id == run_id))  # without relying on the cascade
            if con.execute(delete(RUNS).where(RUNS.c.id == run_id)).rowcount == 0:
                raise UnknownNameError(f"There is no run {run_id}.")

    def forget_checkpoint(self, path: str | Path) -> int:
        """Clear the checkpoint of failed runs that point to ``path`` (deleted by the disk
        clean-up); returns how many runs pointed there."""
        with self.db.begin() as con:
            return con.execute(update(RUNS).where(RUNS.c.checkpoint == str(path), RUNS.c.status == "failed")
                               .values(checkpoint=None)).rowcount

    def mark_interrupted(self) -> int:
        """Runs of this host left ``running``/``queued`` by a process that is gone become
        ``interrupted`` (a process id means nothing on another host: those runs stay), and so do
        other hosts' silent runs (:meth:`mark_silent`); one read of the live runs for both."""
        live = self._live_rows()
        here = socket.gethostname()
        dead = [r.id for r in live if r.host == here and not process_alive(r.pid)]
        self._interrupt(dead, "The training process ended before the run finished.")
        return len(dead) + self._interrupt_silent(live, STALE_S)

    def mark_silent(self, stale_s: float = STALE_S) -> int:
        """Running runs on other hosts whose worker has not written (a batch, an epoch) for
        ``stale_s`` seconds become ``interrupted``: their host is gone or cut off."""
        return self._interrupt_silent(self._live_rows(), stale_s)

    def _live_rows(self) -> list[Row]:
        with self.db.begin() as con:  # a read: opening a store writes nothing in the usual case
            return con.execute(select(RUNS.c.id, RUNS.c.pid, RUNS.c.host, RUNS.c.status, RUNS.c.beat,
                                      RUNS.c.started, RUNS.c.created).where(RUNS.c.status.in_(_LIVE))).all()

    def _interrupt_silent(self, live: list[Row], stale_s: float) -> int:
        cutoff, here = time.time() - stale_s, socket.gethostname()
        silent = [r.id for r in live if r.status == RunStatus.RUNNING.value and r.host is not None and r.host != here
                  and next(t for t in (r.beat, r.started, r.created) if t is not None) < cutoff]
        return self._interrupt(silent, f"No word from its worker for {stale_s / 60:.0f} minutes: its machine "
                                       "stopped or lost the connection.")

    def _interrupt(self, run_ids: list[int], error: str) -> int:
        """Mark these runs ``interrupted`` with ``error``, each only if still unfinished (its
        worker may have closed it meanwhile); returns how many were."""
        done = 0
        for run_id in run_ids:
            with self.db.begin() as con:
                done += con.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status.in_(_LIVE)).values(
                    status="interrupted", error=error, finished=time.time())).rowcount
        return done

    # -- reading ------------------------------------------------------------------------
    def get_run(self, run_id: int) -> RunRecord:
        """One run with its per-epoch metrics."""
        with self.db.begin() as con:
            row = con.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
            if row is None:
                raise UnknownNameError(f"There is no run {run_id}.")
            epochs = con.execute(select(EPOCHS.c.metrics).where(EPOCHS.c.run_id == run_id)
                                 .order_by(EPOCHS.c.epoch)).scalars().all()
        record = _record(row)
        record.epochs = [json.loads(e) for e in epochs]
        return record

    def list_runs(self, case: str | None = None, arch: str | None = None,
                  status: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally filtered (without per-epoch metrics)."""
        query = select(RUNS).order_by(RUNS.c.id.desc())
        for column, value in ((RUNS.c.case_key, case), (RUNS.c.arch, arch), (RUNS.c.status, status)):
            if value is not None:
                query = query.where(column == str(value))
        with self.db.begin() as con:
            return [_record(r) for r in con.execute(query).all()]

    def best_run(self, case: str, arch: str | None, metric: str) -> RunRecord | None:
        """The finished run with the best final ``metric`` (lowest for losses and HD95)."""
        from medlearn.metrics import is_better  # imports torch: not needed to open the store

        best = None
        for run in self.list_runs(case=case, arch=arch, status="done"):
            if best is None or is_better(metric, run.metrics.get(metric), best.metrics.get(metric)):
                best = run if run.metrics.get(metric) is not None else best
        return best


def _record(row: Row) -> RunRecord:
    return RunRecord(id=row.id, case=row.case_key, arch=row.arch, source=row.source, status=RunStatus(row.status),
                     config=json.loads(row.config), metrics=json.loads(row.metrics) if row.metrics else {},
                     checkpoint=row.checkpoint, error=row.error, pid=row.pid, created=row.created,
                     started=row.started, finished=row.finished, seconds=row.seconds,
                     progress=json.loads(row.progress) if row.progress else None)


def _check_status(status: str) -> str:
    """``status`` as plain text (a ``RunStatus`` is a ``str``), or a typed error."""
    if status not in STATUSES:
        raise MedlearnInputError(f"Unknown run status {status!r}; use one of {', '.join(STATUSES)}.")
    return str(status)


def process_alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs on this host (a zombie, killed but not yet reaped, does not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    """A killed child that its parent has not reaped yet still answers ``kill(pid, 0)``."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
