"""The projector layout of instructor mode: the image and the answer above the fold.

Instructor mode (``ui.shared.instructor``: larger type for the back row) is used on a projector,
typically 1024x768. There the normal page puts the prediction 40 % down a tall page, so
in this mode:

* the sidebar starts collapsed (:func:`sidebar_state`, read by ``app.py`` before
  ``st.set_page_config``), the main column loses its wide side padding, words are not
  hyphenated mid-word, metric labels and sidebar names wrap instead of being cut, and
  charts use :data:`CHART_FONT` (:data:`CSS`, :func:`style_chart`);
* the case page folds its teaching summary into an expander, and the Predict section
  draws a *stage* at its top (:func:`staged`): the pictures on the left, the answer, its
  probabilities and scores on the right; the pickers and details follow below it.

The flag itself is instructor mode's (``ui.shared.instructor.KEY``); nothing else is stored.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import streamlit as st

from ui.shared import instructor
CHART_FONT = 20  # px: plotly text on a projector (titles, ticks, legends, bar labels)
STAGE_KEY = "projector.stage"

CSS = """<style id="medlearn-projector">
[data-testid="stMainBlockContainer"] { padding: 3.2rem 1.2rem 4rem 1.2rem; max-width: none; }
[data-testid="stMain"] h1 { font-size: 1.9rem !important; padding-top: 0.2rem; }
[data-testid="stMain"] h4 { font-size: 1.15rem; }
[data-testid="stAppViewContainer"] * { hyphens: manual !important; word-break: normal; overflow-wrap: break-word; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.2rem !important; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; }
[data-testid="stSidebarNav"] span { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; font-size: 0.85rem; line-height: 1.25; }
[data-testid="stDownloadButton"] button p { white-space: nowrap; }
</style>"""


@dataclass(frozen=True)
class Stage:
    """Where the Predict section draws first: ``pictures`` (left) and ``answer`` (right)."""

    pictures: st.delta_generator.DeltaGenerator
    answer: st.delta_generator.DeltaGenerator


def is_on() -> bool:
    """Whether the projector layout applies (instructor mode is on)."""
    return instructor.is_on()


def sidebar_state() -> str:
    """``st.set_page_config``'s ``initial_sidebar_state``: collapsed on a projector, else auto.

    Runs before the sidebar's toggle is drawn, so a fresh ``?instructor=1`` link is read
    from the URL; once the session has the toggle's value, that value decides."""
    if instructor.KEY in st.session_state:
        return "collapsed" if instructor.is_on() else "auto"
    return "collapsed" if st.query_params.get("instructor") in ("1", "true", "on") else "auto"


def apply() -> None:
    """Add the projector CSS to this run when instructor mode is on (once per run, from ``app.py``)."""
    if is_on():
        st.html(CSS)


def style_chart(fig, rows: int = 0, large: bool | None = None):
    """Projector-sized text on a plotly figure (unchanged outside instructor mode); returns ``fig``.

    ``rows``: for a bar chart, its number of bars, so that bars grow with the text;
    ``large``: force the choice (default: whether instructor mode is on)."""
    if is_on() if large is None else large:
        # Streamlit's chart theme sets the axes' and legend's sizes itself: each is set here.
        fig.update_layout(font_size=CHART_FONT, legend_font_size=CHART_FONT, hoverlabel_font_size=CHART_FONT)
        fig.update_xaxes(tickfont_size=CHART_FONT, title_font_size=CHART_FONT)
        fig.update_yaxes(tickfont_size=CHART_FONT, title_font_size=CHART_FONT)
        fig.update_annotations(font_size=CHART_FONT)  # subplot titles
        fig.update_traces(textfont_size=CHART_FONT, selector=dict(type="bar"))
        if rows:
            fig.update_layout(height=80 + 64 * rows)
    return fig


@contextlib.contextmanager
def staged() -> Iterator[Stage | None]:
    """In instructor mode, reserve the stage at this point of the page for the block's run.

    Everything drawn inside the block may call :func:`stage` to draw into it (above what
    the block draws itself); outside instructor mode, and after the block, there is none."""
    if not is_on():
        yield None
        return
    pictures, answer = st.columns([3, 2], gap="medium")
    stage_ = Stage(pictures, answer)
    st.session_state[STAGE_KEY] = stage_
    try:
        yield stage_
    finally:
        st.session_state.pop(STAGE_KEY, None)


def stage() -> Stage | None:
    """The stage reserved by :func:`staged` in this run, or None."""
    return st.session_state.get(STAGE_KEY)
