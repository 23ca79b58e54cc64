"""Make ``train_helpers`` importable by name, here and in spawned worker processes
(which inherit ``sys.path``); pytest's importlib mode does not add test folders. And the run
store's backends: SQLite files, and a throwaway PostgreSQL server (``store_location``)."""

import itertools
import os
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


# -- the run store's two backends ------------------------------------------------------------
_databases = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch):
    """A developer's MEDLEARN_DATABASE_URL never reaches a test: each test chooses its store."""
    monkeypatch.delenv("MEDLEARN_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the session (``tests/postgres_server.py``), on
    127.0.0.1 only, stopped and removed at the end; the tests that need it skip with the
    reason when it cannot start here."""
    from postgres_server import PostgresServer, PostgresUnavailable

    from medlearn.data.database import close_databases

    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    try:
        yield server
    finally:
        close_databases()  # pooled connections first, then the server
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh, empty database on the session's server."""
    return postgres_server.new_database(f"test_{os.getpid()}_{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """Where a run store lives, on each backend: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "runs.sqlite"
    return request.getfixturevalue("postgres_url")
