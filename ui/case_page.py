"""The body every case page shares, drawn from the case registry.

A case page is ``render_case_page("retina")`` plus, optionally, case-specific extras.
Sections are tabs listed in :data:`SECTIONS`: "Explore" now; "Predict" and "Train"
join the list when their panels exist (each entry: title, renderer).
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy, get_case
from ui.browser import render_browser

Extra = Callable[[CaseStudy], None]


def _explore(case: CaseStudy, extras: tuple[Extra, ...]) -> None:
    render_browser(case)
    for extra in extras:
        extra(case)


SECTIONS: tuple[tuple[str, Callable[[CaseStudy, tuple[Extra, ...]], None]], ...] = (
    ("🔍 Explore", _explore),
)


def render_case_page(key: str, *extras: Extra) -> None:
    """Title, question, teaching summary with sources, then the case's sections.

    Args:
        key: the case key (``"retina"``...).
        extras: functions drawn after the data browser in the Explore section.
    """
    case = get_case(key)
    st.title(f"{case.icon} {case.title}")
    st.markdown(f"#### {case.question}")
    render_summary(case)
    if len(SECTIONS) == 1:
        title, draw = SECTIONS[0]
        st.subheader(title)
        draw(case, extras)
        return
    for tab, (_, draw) in zip(st.tabs([title for title, _ in SECTIONS]), SECTIONS):
        with tab:
            draw(case, extras)


def render_summary(case: CaseStudy) -> None:
    """What the review found, the teaching points, published figures and citations."""
    text, facts = st.columns([3, 2], gap="large")
    with text:
        st.markdown(case.summary)
        for point in case.teaching_points:
            st.markdown(f"- {point}")
    with facts:
        task = case.task
        st.markdown(
            f"**Task:** {task.kind}, {task.spatial_dims}D, {task.num_classes} classes "
            f"({', '.join(task.class_names)}).  \n**Modality:** {case.modality}.  "
            f"\n**Default architectures:** {', '.join(case.recipe.architectures)}."
        )
    if case.published:
        st.markdown("**Published results**")
        st.dataframe(published_table(case), hide_index=True, width="stretch")
    with st.expander("Sources cited on this page"):
        for number, citation in enumerate(case.citations, 1):
            st.markdown(f"{number}. {citation}")


def published_table(case: CaseStudy) -> pd.DataFrame:
    """Literature figures for the case, one row each."""
    return pd.DataFrame(
        [{"model": p.model, "metric": p.metric, "value": p.value, "dataset": p.dataset, "source": p.source}
         for p in case.published]
    )
