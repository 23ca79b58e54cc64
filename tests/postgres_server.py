"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder,
listening on 127.0.0.1 on a free port only (its unix socket in that folder too), stopped and
removed by :meth:`PostgresServer.stop`. No library starts a PostgreSQL server for pytest
without a download, so this small helper does it with the binaries of the installed server.

As root, ``initdb`` refuses to run: the server then runs as the ``postgres`` user (``runuser``).
When a piece is missing (no binaries, no such user) :class:`PostgresUnavailable` says which.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "medlearn"  # the database superuser initdb creates (trust authentication, local only)


class PostgresUnavailable(RuntimeError):
    """A PostgreSQL server cannot be started here; the message says why."""


def find_binary(name: str) -> str | None:
    """``name`` (``initdb``, ``pg_ctl``) on PATH, else in the newest ``/usr/lib/postgresql/*/bin``
    (Debian's ``postgresql`` package does not put them on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """``with PostgresServer() as url:`` a server for the tests (``url`` is an SQLAlchemy URL of
    its ``postgres`` database; :meth:`new_database` makes a fresh database per test)."""

    def __init__(self):
        self.folder: Path | None = None
        self.port: int | None = None
        self._as_user: list[str] = []
        self._pg_ctl = ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> str:
        initdb, self._pg_ctl = find_binary("initdb"), find_binary("pg_ctl") or ""
        if not initdb or not self._pg_ctl:
            raise PostgresUnavailable("PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install "
                                      "postgresql; .ci/run does this)")
        owner = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            runuser = shutil.which("runuser")
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                owner = None
            if not runuser or owner is None:
                raise PostgresUnavailable("running as root, and there is no 'postgres' user (or no runuser) to "
                                          "run initdb as")
            self._as_user = [runuser, "-u", "postgres", "--"]
        self.folder = Path(tempfile.mkdtemp(prefix="medlearn-pg-"))
        if owner is not None:
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        data = self.folder / "data"
        self._run([initdb, "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync"],
                  "initdb")
        last = ""
        for _ in range(3):  # the free port may be taken between the probe and the start
            self.port = free_port()
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c full_page_writes=off "
                       "-c synchronous_commit=off -c max_connections=60")
            try:
                self._run([self._pg_ctl, "-D", str(data), "-l", str(self.folder / "server.log"), "-w", "-t", "30",
                           "-o", options, "start"], "pg_ctl start")
                return self.url()
            except PostgresUnavailable as exc:
                last = str(exc)
        self.stop()
        raise PostgresUnavailable(last)

    def new_database(self, name: str) -> str:
        """Create the empty database ``name``; returns its URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True,
                             connect_timeout=10) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its folder."""
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run([*self._as_user, self._pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
                           check=False, capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _run(self, cmd: list[str], what: str) -> None:
        done = subprocess.run([*self._as_user, *cmd], check=False, capture_output=True, text=True, timeout=120,
                              cwd=self.folder)
        if done.returncode != 0:
            log = self.folder / "server.log" if self.folder else None
            tail = log.read_text(errors="replace")[-600:] if log and log.exists() else ""
            raise PostgresUnavailable(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout)[-600:]}"
                                      f"{tail}")

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
