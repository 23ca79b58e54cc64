"""Instructor mode: larger type for a projector, fewer controls, ready-made runs, a reset.

The sidebar toggle (``instructor.on``, also ``?instructor=1`` in the URL) makes panels
hide advanced training controls and show the run store's best runs at once. "Reset this
session" clears this browser session's state only (never a shared cache or a running
job); "Prepare all cases" queues every default recipe that has no checkpoint yet, like
``python -m medlearn prepare``.
"""

from __future__ import annotations

import streamlit as st

from medlearn.cases import list_cases
from medlearn.errors import MedlearnError
from ui import url_state
from ui.text import plain

KEY = "instructor.on"
# Streamlit sizes text in rem: a larger root font scales the whole page for the back row.
CSS = """<style id="medlearn-instructor">
html { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.1rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.05rem; }
h1 { font-size: 2.6rem !important; }
</style>"""


def is_on() -> bool:
    """Whether this session is in instructor mode."""
    return bool(st.session_state.get(KEY, False))


def render_controls() -> None:
    """The sidebar toggle and, when on, the CSS, the reset and "Prepare all cases" buttons."""
    url_state.restore("instructor", KEY, lambda raw: raw in ("1", "true", "on"))
    st.toggle("Instructor mode", key=KEY,
              help="Larger type, advanced controls hidden, stored runs shown at once.")
    url_state.publish("instructor", "1" if is_on() else None)
    if not is_on():
        return
    st.markdown(CSS, unsafe_allow_html=True)
    if st.button("Reset this session", key="instructor.reset", icon="🔄",
                 help="Clears this browser's choices and the link; running jobs and shared caches stay."):
        reset_session()
    if st.button("Prepare all cases", key="instructor.prepare", icon="⏳",
                 help="Train, in the background, every default model that has no checkpoint yet."):
        prepare_all()
    _job_counts()


def reset_session() -> None:
    """Forget this session's widgets, job ids and URL state (instructor mode stays on)."""
    for key in [k for k in st.session_state if k != KEY]:
        del st.session_state[key]
    st.query_params.clear()
    st.query_params["instructor"] = "1"
    st.rerun()


def prepare_all() -> None:
    """Queue the default recipes without a checkpoint for every case (the job queue caps
    how many train at once)."""
    from ui.jobs import queue_default_recipes

    try:
        queued = sum(len(queue_default_recipes(case)) for case in list_cases())
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return
    if queued:
        st.success(f"Queued {queued} model(s); they train in the background, a few at a time.")
    else:
        st.info("Every case already has its default models (or they are training).")


def _job_counts() -> None:
    from ui.jobs import counts

    live = counts()
    if live["running"] or live["queued"]:
        st.caption(f"Training on this server: {live['running']} running, {live['queued']} queued.")
