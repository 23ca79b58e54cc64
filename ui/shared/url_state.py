"""Page state in the URL (``st.query_params``) so that a link reproduces a view.

A widget is *bound* to a query parameter: before it is drawn, :func:`restore` seeds its
session value from the URL (once, when the session has no value yet); after it is drawn,
:func:`publish` writes its value back. Values that do not parse, or are not among the
widget's options, are ignored with a warning naming the parameter.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Callable, Iterable

import streamlit as st

ROUTER = Path(__file__).resolve().parents[2] / "app.py"


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


def parse_float(low: float = float("-inf"), high: float = float("inf")) -> Callable[[str], float]:
    """A parser for finite numbers in ``[low, high]`` (raises ValueError outside)."""
    def parse(raw: str) -> float:
        value = float(raw)
        if not (low <= value <= high and value == value):
            raise ValueError(raw)
        return value

    return parse


def parse_ints(bounds: Iterable[tuple[int, int]]) -> Callable[[str], list[int]]:
    """A parser for ``"12,40,33"``: one whole number per ``(low, high)`` of ``bounds``, each inside it."""
    bounds = list(bounds)

    def parse(raw: str) -> list[int]:
        parts = parse_list(raw)
        if len(parts) != len(bounds):
            raise ValueError(raw)
        return [parse_int(low, high)(part) for part, (low, high) in zip(parts, bounds)]

    return parse


def number_text(value: float) -> str:
    """A number as short URL text: ``-600.0`` -> ``"-600"``, ``0.35`` -> ``"0.35"``."""
    return f"{float(value):.6g}"


def ensure_router() -> None:
    """Make a deep link run through the router (``app.py``) even on a fresh server.

    Streamlit runs a ``pages/`` script directly (its "v1" multipage mode) when the first
    request of a server process links to that page before ``app.py`` has ever called
    ``st.navigation`` (and Streamlit's AppTest does so on every rerun); the page config,
    the sidebar and the instructor controls are then missing. Here the router runs in
    place (it draws this same page) and the direct run stops. Not ``st.rerun()``: a
    rerun would drop the button press that started this run.

    Why a Streamlit internal: 1.67 has no public way to tell a v1 run from a routed one,
    nor to hand a run to the entrypoint (``st.navigation`` may only be called there, and
    ``st.switch_page`` in v1 mode runs the page the v1 way again). The public cure is a
    page folder not named ``pages/`` (Streamlit calls that folder legacy; with any other
    name the entrypoint runs on every request), which makes this function a no-op. Until
    then :func:`_v1_mode` reads ``PagesManager.uses_pages_directory``; should an upgrade
    remove it, pages still draw (without the sidebar on a cold deep link), a warning is
    logged, and ``tests/pages/test_url_state.py`` fails, naming this function.
    """
    import runpy

    if _v1_mode():
        _leave_v1_mode()
        runpy.run_path(str(ROUTER), run_name="__main__")
        st.stop()


V1_FLAG = "uses_pages_directory"  # on streamlit.runtime.pages_manager.PagesManager (read in Streamlit 1.67)


def _pages_manager():
    """Streamlit's PagesManager class when it still has the v1 flag, else None (logged once)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        PagesManager = None
    if PagesManager is None or not hasattr(PagesManager, V1_FLAG):
        _warn_once()
        return None
    return PagesManager


def _v1_mode() -> bool:
    """True when this run is Streamlit's direct ("v1") run of a ``pages/`` script."""
    manager = _pages_manager()
    return bool(manager is not None and getattr(manager, V1_FLAG))


def _leave_v1_mode() -> None:
    """What ``st.navigation`` itself does first: later runs of every session go through ``app.py``."""
    manager = _pages_manager()
    if manager is not None:
        setattr(manager, V1_FLAG, False)


@functools.cache
def _warn_once() -> None:
    logging.getLogger(__name__).warning(
        "streamlit.runtime.pages_manager.PagesManager.%s is gone (Streamlit %s): a cold deep link to "
        "a page may draw it without the router's sidebar. See ui.shared.url_state.ensure_router.",
        V1_FLAG, st.__version__)
