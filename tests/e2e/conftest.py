"""Fixtures for the browser tests."""

import pytest

from e2e_helpers import serve_app


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
