"""Fixtures shared by the page tests: run a page through the router, check it is clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 240  # first runs import torch and build models on a shared 2-core machine


def run_page(page: str) -> AppTest:
    """Run the router, then switch to ``pages/<page>.py`` (the home page needs no switch)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    return at


def check_clean(at: AppTest) -> None:
    """No exception box and a page title."""
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "the page has no title"


@pytest.fixture
def open_page():
    """``open_page("lung")`` -> an AppTest that has run the lung page."""
    return run_page


@pytest.fixture
def assert_clean():
    """``assert_clean(at)``: no exception box, a title."""
    return check_clean


@pytest.fixture
def close_jobs():
    """Stop the test's training workers and forget its job manager afterwards."""
    yield
    from ui.train.jobs import _manager_for, manager

    manager().close(timeout=20)
    _manager_for.clear()
