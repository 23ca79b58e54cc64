"""Fixtures for the browser tests."""

import os
import sqlite3
from pathlib import Path

import pytest

from e2e_helpers import SCREENSHOTS, serve_app


@pytest.fixture(autouse=True)
def _trained_runs_for_screenshots(_isolated_home):
    """With ``MEDLEARN_SCREENSHOTS=1`` and ``MEDLEARN_SCREENSHOT_HOME`` (a data home where
    ``python -m medlearn prepare`` trained the models), the test's home starts with that
    run store, so the docs show trained models rather than the tests' fresh weights."""
    trained = os.environ.get("MEDLEARN_SCREENSHOT_HOME")
    if SCREENSHOTS and trained and (Path(trained) / "runs.sqlite").is_file():
        with sqlite3.connect(Path(trained) / "runs.sqlite") as src, \
                sqlite3.connect(_isolated_home / "runs.sqlite") as dst:
            src.backup(dst)  # the store runs in WAL mode: a file copy could miss the newest runs


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """A server with its own empty data home, shared by a module's tests."""
    with serve_app(tmp_path_factory.mktemp("home")) as url:
        yield url


@pytest.fixture
def app_url_here():
    """A server on this test's MEDLEARN_HOME (where the test saved checkpoints or runs)."""
    with serve_app() as url:
        yield url
