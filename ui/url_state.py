"""Page state in the URL (``st.query_params``) so that a link reproduces a view.

A widget is *bound* to a query parameter: before it is drawn, :func:`restore` seeds its
session value from the URL (once, when the session has no value yet); after it is drawn,
:func:`publish` writes its value back. Values that do not parse, or are not among the
widget's options, are ignored with a warning naming the parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import streamlit as st

ROUTER = Path(__file__).resolve().parents[1] / "app.py"


def restore(param: str, key: str, parse: Callable[[str], Any] = str, options: Iterable | None = None) -> None:
    """Seed ``st.session_state[key]`` from ``?param=`` unless the session already has a value."""
    raw = st.query_params.get(param)
    if raw is None or key in st.session_state:
        return
    try:
        value = parse(raw)
    except (TypeError, ValueError):
        value = None
    allowed = None if options is None else list(options)
    bad = value is None or (allowed is not None and (
        not set(value) <= set(allowed) if isinstance(value, list) else value not in allowed))
    if bad:
        st.warning(f"The link's {param}={raw!r} is not valid here, so it was ignored.")
        return
    st.session_state[key] = value


def publish(param: str, value: Any) -> None:
    """Write ``value`` to ``?param=`` (a list as comma-separated text; None removes it)."""
    if value is None or value == [] or value == "":
        if param in st.query_params:
            del st.query_params[param]
        return
    text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    if st.query_params.get(param) != text:
        st.query_params[param] = text


def parse_list(raw: str) -> list[str]:
    """``"resnet18,alexnet"`` -> ``["resnet18", "alexnet"]``."""
    return [part for part in (p.strip() for p in raw.split(",")) if part]


def parse_int(low: int, high: int) -> Callable[[str], int]:
    """A parser for whole numbers in ``[low, high]`` (raises ValueError outside)."""
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def ensure_router() -> None:
    """Make a deep link run through the router (``app.py``) even on a fresh server.

    Streamlit runs a ``pages/`` script directly (its "v1" multipage mode) when the first
    request of a server process links to that page before ``app.py`` has ever called
    ``st.navigation`` (and Streamlit's AppTest does so on every rerun); the page config,
    the sidebar and the instructor controls are then missing. Here the router runs in
    place (it draws this same page) and the direct run stops. Not ``st.rerun()``: a
    rerun would drop the button press that started this run.
    """
    import runpy

    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(ROUTER), run_name="__main__")
        st.stop()
