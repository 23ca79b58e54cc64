"""``url_state.ensure_router`` and the Streamlit internal it reads (fails loudly when it changes)."""

from __future__ import annotations

import inspect
import logging

import pytest

from ui.shared import url_state
GONE = ("Streamlit {version} changed PagesManager.uses_pages_directory, which ui.shared.url_state.ensure_router "
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
    with caplog.at_level(logging.WARNING, logger="ui.shared.url_state"):
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


def _open_explore(open_page, page: str, **params):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    APP, TIMEOUT = str(Path(__file__).resolve().parents[2] / "app.py"), 240  # as tests/pages/conftest.py

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"section": "explore", **params})
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_keeps_the_slices_window_overlay_and_opacity_of_a_volume(open_page):
    view = "lab.hippocampus.view"
    at = _open_explore(open_page, "hippocampus", slice="3,4,5", window="120.5,300", overlay="outline",
                       opacity="0.6")
    assert [at.slider(key=f"{view}.{p}").value for p in ("axial", "coronal", "sagittal")] == [3, 4, 5]
    assert at.slider(key=f"{view}.level").value == 120.5 and at.slider(key=f"{view}.width").value == 300
    assert at.radio(key=f"{view}.style").value == "Outline" and at.slider(key=f"{view}.opacity").value == 0.6
    assert at.query_params["slice"] == "3,4,5" and at.query_params["window"] == "120.5,300"
    # what the student changes goes back into the link
    at.slider(key=f"{view}.axial").set_value(7).run()
    at.radio(key=f"{view}.style").set_value("Filled").run()
    assert at.query_params["slice"] == "7,4,5" and at.query_params["overlay"] == "filled"
    at.toggle(key=f"{view}.show_mask").set_value(False).run()
    assert at.query_params["overlay"] == "off"


def test_a_link_with_a_bad_view_value_is_ignored_with_a_warning(open_page):
    view = "lab.breast.view"
    at = _open_explore(open_page, "breast", window="abc", opacity="7", overlay="off")
    warnings = " ".join(w.value for w in at.warning)
    assert "window='abc'" in warnings and "opacity='7'" in warnings
    assert at.toggle(key=f"{view}.show_mask").value is False
    assert at.slider(key=f"{view}.opacity").value == 0.35 and at.query_params["overlay"] == "off"
    assert "," in at.query_params["window"]  # the image's own window, published in its place
