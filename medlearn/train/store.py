"""The run store: every training run, its config, per-epoch metrics and checkpoint, in SQLite.

An instructor trains before class; students browse and compare the runs later, after
restarts. The database lives in the data home (``runs.sqlite``), in WAL mode so that
the app, worker processes and the command line can read and write it at once. Each
call opens its own short connection, so one ``RunStore`` may be shared by threads.

Statuses: ``queued``, ``running``, ``done``, ``stopped``, ``failed``, and ``interrupted``
for a run whose process died without saying so (found on the next start by checking
whether its process id is still alive on this host).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medlearn.data.home import connect, open_database
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.metrics import is_better

STATUSES = ("queued", "running", "done", "stopped", "failed", "interrupted")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, case_key TEXT NOT NULL, arch TEXT NOT NULL,
    source TEXT NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL, metrics TEXT,
    checkpoint TEXT, error TEXT, pid INTEGER, host TEXT, created REAL NOT NULL,
    started REAL, finished REAL, seconds REAL);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL, logged REAL NOT NULL, PRIMARY KEY (run_id, epoch));
CREATE INDEX IF NOT EXISTS runs_case_arch ON runs (case_key, arch);
"""


def default_home() -> Path:
    """The data home; ``medlearn.data.home.data_home()`` once available, else
    ``$MEDLEARN_HOME`` or ``~/.cache/medlearn``."""
    try:
        from medlearn.data.home import data_home
    except ImportError:
        return Path(os.environ.get("MEDLEARN_HOME") or Path.home() / ".cache" / "medlearn")
    return Path(data_home())


@dataclass
class RunRecord:
    """One training run as stored (``epochs`` filled by ``get_run`` only)."""

    id: int
    case: str
    arch: str
    source: str
    status: str
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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunStore:
    """Runs in an SQLite database (``path`` or ``<data home>/runs.sqlite``)."""

    def __init__(self, path: str | Path | None = None):
        self.path = open_database(Path(path) if path else default_home() / "runs.sqlite", _SCHEMA)
        self.mark_interrupted()

    def _connect(self) -> sqlite3.Connection:
        con = connect(self.path)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with closing(self._connect()) as con, con:
            return con.execute(sql, params)

    # -- writing -------------------------------------------------------------------
    def create_run(self, case: str, arch: str, source: str, config: dict[str, Any], status: str = "running",
                   pid: int | None = None) -> int:
        """Add a run (``queued`` or ``running``); returns its id."""
        _check_status(status)
        now = time.time()
        cur = self._write(
            "INSERT INTO runs (case_key, arch, source, status, config, pid, host, created, started) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case, arch, source, status, json.dumps(config, default=str), pid or os.getpid(),
             socket.gethostname(), now, now if status == "running" else None))
        return int(cur.lastrowid)

    def start(self, run_id: int, pid: int | None = None, config: dict[str, Any] | None = None) -> None:
        """Mark a queued run as running in process ``pid`` (default: this one), optionally
        replacing its config with the resolved one."""
        self._write("UPDATE runs SET status='running', pid=?, host=?, started=?, config=COALESCE(?, config) "
                    "WHERE id=?", (pid or os.getpid(), socket.gethostname(), time.time(),
                                   json.dumps(config, default=str) if config else None, run_id))

    def log_epoch(self, run_id: int, metrics: dict[str, Any]) -> None:
        """Record one epoch's metrics (replaces the epoch's row if it is logged again on resume)."""
        self._write("INSERT OR REPLACE INTO epochs (run_id, epoch, metrics, logged) VALUES (?, ?, ?, ?)",
                    (run_id, int(metrics["epoch"]), json.dumps(metrics, default=str), time.time()))

    def finish(self, run_id: int, status: str, metrics: dict[str, Any] | None = None,
               checkpoint: str | None = None, error: str | None = None) -> None:
        """Close a run with its final status, metrics, checkpoint path or error message."""
        _check_status(status)
        now = time.time()
        self._write(
            "UPDATE runs SET status=?, metrics=COALESCE(?, metrics), checkpoint=COALESCE(?, checkpoint), "
            "error=?, finished=?, seconds=? - COALESCE(started, created) WHERE id=?",
            (status, json.dumps(metrics, default=str) if metrics is not None else None,
             str(checkpoint) if checkpoint else None, error, now, now, run_id))

    def delete_run(self, run_id: int) -> None:
        """Remove a run and its epochs (its checkpoint file stays)."""
        if self._write("DELETE FROM runs WHERE id=?", (run_id,)).rowcount == 0:
            raise UnknownNameError(f"There is no run {run_id}.")

    def forget_checkpoint(self, path: str | Path) -> int:
        """Clear the checkpoint of failed runs that point to ``path`` (deleted by the disk
        clean-up); returns how many runs pointed there."""
        return self._write("UPDATE runs SET checkpoint=NULL WHERE checkpoint=? AND status='failed'",
                           (str(path),)).rowcount

    def mark_interrupted(self) -> int:
        """Runs left ``running``/``queued`` by a process that is gone become ``interrupted``."""
        host = socket.gethostname()
        with closing(self._connect()) as con:
            rows = con.execute("SELECT id, pid FROM runs WHERE status IN ('running', 'queued') AND host=?",
                               (host,)).fetchall()
        dead = [r["id"] for r in rows if not process_alive(r["pid"])]
        for run_id in dead:  # only if still unfinished: the process may have closed it meanwhile
            self._write("UPDATE runs SET status='interrupted', error=?, finished=? "
                        "WHERE id=? AND status IN ('running', 'queued')",
                        ("The training process ended before the run finished.", time.time(), run_id))
        return len(dead)

    # -- reading ------------------------------------------------------------------------
    def get_run(self, run_id: int) -> RunRecord:
        """One run with its per-epoch metrics."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise UnknownNameError(f"There is no run {run_id}.")
            epochs = con.execute("SELECT metrics FROM epochs WHERE run_id=? ORDER BY epoch",
                                 (run_id,)).fetchall()
        record = _record(row)
        record.epochs = [json.loads(e["metrics"]) for e in epochs]
        return record

    def list_runs(self, case: str | None = None, arch: str | None = None,
                  status: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally filtered (without per-epoch metrics)."""
        sql, params = "SELECT * FROM runs WHERE 1=1", []
        for column, value in (("case_key", case), ("arch", arch), ("status", status)):
            if value is not None:
                sql += f" AND {column}=?"
                params.append(value)
        with closing(self._connect()) as con:
            return [_record(r) for r in con.execute(sql + " ORDER BY id DESC", params).fetchall()]

    def best_run(self, case: str, arch: str | None, metric: str) -> RunRecord | None:
        """The finished run with the best final ``metric`` (lowest for losses and HD95)."""
        best = None
        for run in self.list_runs(case=case, arch=arch, status="done"):
            if best is None or is_better(metric, run.metrics.get(metric), best.metrics.get(metric)):
                best = run if run.metrics.get(metric) is not None else best
        return best


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(id=row["id"], case=row["case_key"], arch=row["arch"], source=row["source"],
                     status=row["status"], config=json.loads(row["config"]),
                     metrics=json.loads(row["metrics"]) if row["metrics"] else {},
                     checkpoint=row["checkpoint"],
                     error=row["error"], pid=row["pid"], created=row["created"], started=row["started"],
                     finished=row["finished"], seconds=row["seconds"])


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise MedlearnInputError(f"Unknown run status {status!r}; use one of {', '.join(STATUSES)}.")


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
