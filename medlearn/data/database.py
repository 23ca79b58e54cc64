"""The stores' databases: SQLite in the data home by default, or one PostgreSQL server.

A store (the run store, the reader study) declares its tables once as SQLAlchemy ``Table``
objects and writes one set of queries; :func:`open_database` gives it an engine for either
backend and brings its tables up to date:

* **SQLite** (the default, :func:`medlearn.data.home.database_target`): the file in the data
  home, created with its folder, in WAL mode (readers never wait for a writer); one short
  connection per use that waits up to 30 s for a busy file (:func:`medlearn.data.home.connect`).
* **PostgreSQL** (``MEDLEARN_DATABASE_URL=postgresql+psycopg://user@host:5432/medlearn``): one
  database that every replica of a classroom server shares, through a pooled engine whose
  connections give up after :data:`CONNECT_TIMEOUT_S` (a server that does not answer is an
  error, never a hang).
* **Migrations**: each store names its version in the table ``schema_version`` (one row per
  store) and lists its migrations (``migrations[0]`` creates version 1). Opening applies the
  missing ones in one transaction under a lock (PostgreSQL: an advisory lock; SQLite: the
  file's write lock), re-reading the version under it, so replicas that start at once
  migrate once. A file written before the version table existed is version 0.

Errors: a bad URL is a :class:`MedlearnInputError`; a server that is down, refuses, or a lock
that is never released is a :class:`DatabaseUnavailableError` with the server's reason.
"""

from __future__ import annotations

import os
import sqlite3
import time
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    URL,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError
from sqlalchemy.pool import NullPool

from medlearn.data.home import DATABASE_URL_ENV, HOME_ENV, connect
from medlearn.errors import DatabaseUnavailableError, MedlearnInputError

CONNECT_TIMEOUT_S = 10  # a database server that does not answer fails after this long, never hangs
LOCK_TIMEOUT_S = 30  # the longest a migration waits for another replica's migration
_MIGRATION_LOCK = 0x6D65646C  # PostgreSQL advisory lock key ("medl") held while a store migrates
_VERSIONS = Table("schema_version", MetaData(), Column("component", Text, primary_key=True),
                  Column("version", Integer, nullable=False))
_ENGINES: dict[tuple[int, str], Engine] = {}  # one engine (and pool) per process and database
_ENGINES_LOCK = threading.Lock()

Migration = Callable[[Connection], None]


@dataclass(frozen=True)
class Database:
    """One opened database: its engine, the SQLite file (None on a server), its URL with the
    password hidden (safe to show) and ``location``, what reopens it in another process (the
    file, or the URL as given, password included: never show it)."""

    engine: Engine
    path: Path | None
    url: str
    location: str = field(default="", repr=False)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in one transaction, committed at the end (rolled back on an error);
        a database that cannot be reached or stays locked raises :class:`DatabaseUnavailableError`."""
        with _unavailable(self.url), self.engine.begin() as con:
            yield con


def open_database(target: str | Path, component: str, migrations: Sequence[Migration]) -> Database:
    """Open ``target`` (an SQLite file's path, or a database URL: ``postgresql+psycopg://...``,
    ``sqlite:////abs/file.sqlite``) and bring ``component``'s tables to the newest of
    ``migrations`` (``migrations[0]`` creates version 1). A bad URL raises
    :class:`MedlearnInputError`, a server that cannot be reached :class:`DatabaseUnavailableError`
    (after at most :data:`CONNECT_TIMEOUT_S`)."""
    path, url = _locate(target)
    if path is not None:
        _prepare_file(path)
    key = (os.getpid(), url.render_as_string(hide_password=False))
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _sqlite_engine(path, url) if path else _server_engine(url)
    location = str(path) if path else str(target).strip()
    db = Database(engine, path, url.render_as_string(hide_password=True), location)
    _migrate(db, component, migrations)
    return db


def close_databases() -> None:
    """Close every pooled connection this process holds (before a database server stops)."""
    with _ENGINES_LOCK:
        engines = [e for (pid, _), e in _ENGINES.items() if pid == os.getpid()]
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


def _locate(target: str | Path) -> tuple[Path | None, URL]:
    """(the SQLite file or None, the SQLAlchemy URL) of ``target``."""
    if isinstance(target, Path) or "://" not in str(target):
        path = Path(target).expanduser().absolute()
        return path, URL.create("sqlite", database=str(path))
    text = str(target).strip()
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise MedlearnInputError(f"{_safe(text)} is not a database URL: write {DATABASE_URL_ENV} as "
                                 "postgresql+psycopg://USER@HOST:5432/DATABASE.") from None
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise MedlearnInputError(f"MedLearn speaks to PostgreSQL through psycopg 3: write the URL as "
                                     f"postgresql+psycopg://..., not {url.drivername}://...")
        if not url.host and not url.query.get("host"):
            raise MedlearnInputError(f"The database URL {_safe(text)} names no server: write it as "
                                     "postgresql+psycopg://USER@HOST:5432/DATABASE.")
        if not url.database:
            raise MedlearnInputError(f"The database URL {_safe(text)} names no database: add /DATABASE after the "
                                     "server, e.g. postgresql+psycopg://USER@HOST:5432/medlearn.")
        return None, url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise MedlearnInputError("An SQLite database URL needs a file: sqlite:////absolute/path/runs.sqlite.")
        path = Path(url.database).expanduser().absolute()
        return path, URL.create("sqlite", database=str(path))
    raise MedlearnInputError(f"MedLearn keeps its runs in SQLite or PostgreSQL, not {backend!r}: write "
                             f"{DATABASE_URL_ENV} as postgresql+psycopg://USER@HOST:5432/DATABASE, or unset it.")


def _safe(text: str) -> str:
    """A URL for a message, its password hidden where it can be parsed."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "unreadable" if "@" in text else repr(text)


def _prepare_file(path: Path, wait_s: float = 30.0) -> None:
    """Create the SQLite file ``path`` (and its folder) in WAL mode, as every open did before.
    Switching a new file to WAL needs it to itself: while another process opening the same
    new file holds it (two replicas starting at once), try again for up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with closing(connect(path)) as con:
                if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            error = exc
        except (OSError, sqlite3.Error) as exc:
            error = exc
        raise DatabaseUnavailableError(f"Cannot open the database file {path} ({error}). "
                                       f"Set {HOME_ENV} to a folder you can write to.") from None


def _sqlite_engine(path: Path, url: URL) -> Engine:
    """An engine over the SQLite file ``path``: one short connection per use (:func:`connect`,
    30 s busy wait), foreign keys on, its transactions begun by us rather than by the driver,
    so that a migration can take the write lock first (``BEGIN IMMEDIATE``)."""
    engine = create_engine(url, creator=lambda: connect(path), poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _setup(dbapi_con, _record):
        dbapi_con.isolation_level = None  # the driver's own transaction handling is off: see "begin"
        for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"):
            dbapi_con.execute(pragma)

    @event.listens_for(engine, "begin")
    def _begin(con):
        con.exec_driver_sql("BEGIN IMMEDIATE" if con.get_execution_options().get("write_lock") else "BEGIN")

    return engine


def _server_engine(url: URL) -> Engine:
    """A pooled engine for a database server; connecting gives up after :data:`CONNECT_TIMEOUT_S`."""
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (ImportError, NoSuchModuleError) as exc:
        raise MedlearnInputError(f"Cannot use {url.drivername} ({exc}): install the requirements "
                                 "(psycopg) with bash scripts/setup.sh.") from None


@contextmanager
def _unavailable(url: str) -> Iterator[None]:
    """Connection and lock failures as :class:`DatabaseUnavailableError`, with the server's reason."""
    try:
        yield
    except (OperationalError, InterfaceError, SQLTimeoutError) as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        if url.startswith("sqlite"):
            advice = "Another program may hold the file locked for more than 30 s, or it is not readable."
        else:
            advice = (f"Check that the server runs and that {DATABASE_URL_ENV} names it (unset it to keep "
                      "runs and answers in the data home's SQLite files).")
        raise DatabaseUnavailableError(f"Cannot use the database {url}: {reason}. {advice}") from None


def _migrate(db: Database, component: str, migrations: Sequence[Migration]) -> None:
    """Apply ``component``'s missing migrations in one transaction under a lock (PostgreSQL: an
    advisory lock; SQLite: the file's write lock), re-reading the version under it, so two
    replicas that open at once never both migrate. Version 0 is a database without the
    version table (a file written before there was one: its tables, if any, are version 1)."""
    latest = len(migrations)
    with db.begin() as con:  # the usual case, without a lock: already up to date
        if _version(con, component) == latest:
            return
    with _unavailable(db.url), db.engine.connect() as con:
        con = con.execution_options(write_lock=True)
        with con.begin():
            if db.backend == "postgresql":
                con.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'"))
                con.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            _VERSIONS.create(con, checkfirst=True)
            current = _version(con, component)
            if current > latest:
                raise DatabaseUnavailableError(
                    f"The database {db.url} holds {component} tables of version {current}, newer than this "
                    f"MedLearn knows ({latest}): update MedLearn on this machine.")
            for version in range(current + 1, latest + 1):
                migrations[version - 1](con)
            if current == 0:
                con.execute(_VERSIONS.insert().values(component=component, version=latest))
            elif current < latest:
                con.execute(_VERSIONS.update().where(_VERSIONS.c.component == component).values(version=latest))


def _version(con: Connection, component: str) -> int:
    if not inspect(con).has_table(_VERSIONS.name):
        return 0
    return con.scalar(select(_VERSIONS.c.version).where(_VERSIONS.c.component == component)) or 0


def insert_ignoring(con: Connection, table: Table, keys: Sequence[str], values: dict, update: Sequence[str] = ()):
    """``INSERT`` ``values`` into ``table``; on a row with the same ``keys`` already there, update
    its ``update`` columns (or leave it as it is when none): one statement on both backends.
    The result's ``rowcount`` is 1 when a row was written, 0 when one was left as it was."""
    insert = (postgresql.insert if con.dialect.name == "postgresql" else sqlite.insert)(table).values(**values)
    if update:
        statement = insert.on_conflict_do_update(index_elements=list(keys),
                                                 set_={c: insert.excluded[c] for c in update})
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(keys))
    # an INSERT's rowcount is dropped unless asked for
    return con.execute(statement, execution_options={"preserve_rowcount": True})
