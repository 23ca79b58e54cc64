"""``url_state.ensure_router`` and the Streamlit internal it reads (fails loudly when it changes)."""

from __future__ import annotations

import inspect
import logging

import pytest

from ui import url_state

GONE = ("Streamlit {version} changed PagesManager.uses_pages_directory, which ui.url_state.ensure_router "
        "reads: cold deep links now draw pages without the router's sidebar. Rename pages/ (then "
        "ensure_router is not needed) or port ensure_router to the new internals.")


def test_streamlit_still_has_the_internal_that_ensure_router_reads():
    import streamlit as st
    from streamlit.commands import navigation
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    message = GONE.format(version=st.__version__)
    assert hasattr(PagesManager, url_state.V1_FLAG), message
    # the meaning we rely on: the script runner branches on it, st.navigation switches it off
    assert f"PagesManager.{url_state.V1_FLAG}" in inspect.getsource(script_runner.ScriptRunner), message
    assert f"PagesManager.{url_state.V1_FLAG} = False" in inspect.getsource(navigation.navigation), message


def test_without_the_internal_pages_still_draw_and_a_warning_is_logged(monkeypatch, caplog):
    from streamlit.runtime.pages_manager import PagesManager

    monkeypatch.delattr(PagesManager, url_state.V1_FLAG)
    url_state._warn_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="ui.url_state"):
        url_state.ensure_router()  # no exception, no st.stop()
        url_state.ensure_router()
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "ensure_router" in caplog.records[0].message
    url_state._warn_once.cache_clear()


@pytest.mark.parametrize("routed", [True, False])
def test_a_page_run_directly_gets_the_routers_sidebar(routed, open_page, monkeypatch):
    """AppTest runs ``pages/race.py`` the v1 way: only ``ensure_router`` brings the sidebar back."""
    if not routed:
        monkeypatch.setattr(url_state, "ensure_router", lambda: None)
    at = open_page("race")
    assert not at.exception, [e.value for e in at.exception]
    sidebar = [t.label for t in at.sidebar.toggle]
    assert ("Instructor mode" in sidebar) is routed, sidebar
