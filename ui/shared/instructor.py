"""Instructor mode: larger type for a projector, fewer controls, ready-made runs, a reset.

The sidebar toggle (``instructor.on``, also ``?instructor=1`` in the URL) makes panels
hide advanced training controls and show the run store's best runs at once. "Reset this
session" clears this browser session's state only (never a shared cache or a running
job); "Prepare all cases" queues every default recipe that has no checkpoint yet, like
``python -m medlearn prepare``. "Disk use" splits the data home's size into checkpoints,
resume files, datasets and runs, and deletes (after a confirmation) what no run can use
(:mod:`medlearn.train.disk`): never a finished run's model.
"""

from __future__ import annotations

import streamlit as st

from medlearn.cases import list_cases
from medlearn.data.io.limits import mib
from medlearn.errors import MedlearnError
from ui.shared import icons, url_state
from ui.shared.text import plain

KEY = "instructor.on"
CONFIRM = "instructor.disk.confirm"  # the paths the instructor was asked to confirm
DONE = "instructor.disk.done"  # what the last clean-up deleted, shown once
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
    if st.button("Reset this session", key="instructor.reset", icon=icons.RESET,
                 help="Clears this browser's choices and the link; running jobs and shared caches stay."):
        reset_session()
    if st.button("Prepare all cases", key="instructor.prepare", icon=icons.QUEUE,
                 help="Train, in the background, every default model that has no checkpoint yet."):
        prepare_all()
    _job_counts()
    with st.expander("Disk use", icon=icons.DISK):
        disk_panel()


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
    from ui.train.jobs import queue_default_recipes

    try:
        queued = sum(len(queue_default_recipes(case)) for case in list_cases(studies=True))
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return
    if queued:
        st.success(f"Queued {queued} model(s); they train in the background, a few at a time.")
    else:
        st.info("Every case already has its default models (or they are training).")


def _job_counts() -> None:
    from ui.train.jobs import counts

    live = counts()
    if live["running"] or live["queued"]:
        st.caption(f"Training on this server: {live['running']} running, {live['queued']} queued.")


def disk_panel() -> None:
    """The data home's size by part, what the clean-up would delete and why, and the
    clean-up itself behind a confirmation."""
    from medlearn.train.disk import clean_up
    from ui.train.jobs import manager

    store = manager().store
    if DONE in st.session_state:
        st.success(st.session_state.pop(DONE))
    days = st.number_input("Delete resume files of runs stopped or failed more than … days ago", 0, 3650, 7,
                           key="instructor.disk.days",
                           help="A stopped or failed run can resume from its resume file; after this "
                                "long it is unlikely to. Failed runs' models go too; finished runs' never.")
    try:
        use, plan = _disk_report(store, str(store.path), float(days))
    except OSError as exc:
        st.error(plain(f"Cannot measure the data home: {exc}"))
        return
    st.markdown("  \n".join(f"**{part.capitalize()}:** {mib(n)}" for part, n in use.parts().items())
                + f"  \n**Total:** {mib(use.total)}")
    if not plan:
        st.caption("Nothing to clean up: every file may still serve or resume a run.")
        st.session_state.pop(CONFIRM, None)
        return
    st.caption(f"{len(plan)} item(s) can go, {mib(sum(i.bytes for i in plan))} in all:  \n"
               + "  \n".join(plain(f"{i.path.name}: {i.reason}") for i in plan[:12])
               + ("  \n…" if len(plan) > 12 else ""))
    if st.button("Clean up…", key="instructor.disk.clean", icon=icons.CLEAN):
        st.session_state[CONFIRM] = [str(i.path) for i in plan]
    pending = st.session_state.get(CONFIRM)
    if not pending:
        return
    st.warning(f"Delete {len(pending)} item(s)? This cannot be undone; finished runs' models are kept.")
    yes, no = st.columns(2)
    if yes.button("Delete", key="instructor.disk.yes", type="primary"):
        del st.session_state[CONFIRM]
        _disk_report.clear()
        try:
            removed = clean_up(store, pending, older_than_days=days)
        except OSError as exc:
            st.error(plain(f"The clean-up stopped: {exc}"))
            return
        skipped = len(pending) - len(removed)
        st.session_state[DONE] = (f"Deleted {len(removed)} item(s), {mib(sum(i.bytes for i in removed))} freed."
                                  + (f" {skipped} kept: a run started using them meanwhile." if skipped else ""))
        st.rerun()
    if no.button("Cancel", key="instructor.disk.no"):
        del st.session_state[CONFIRM]
        st.rerun()


@st.cache_data(ttl=30, show_spinner=False)
def _disk_report(_store, store_path: str, days: float):
    """``(disk_use, cleanup_plan)`` of the store at ``store_path``, for at most 30 s: walking a
    data home with datasets takes a while, and the sidebar redraws on every click."""
    from medlearn.train.disk import cleanup_plan, disk_use

    return disk_use(_store), cleanup_plan(_store, older_than_days=days)
