"""The body every case page shares, drawn from the case registry.

A case page is ``render_case_page("retina")`` plus, optionally, case-specific extras.
Sections are tabs listed in :data:`SECTIONS` (each entry: title, renderer): Explore
(data browser and case extras), Predict (``ui.predict.predict_panel``), Train
(``ui.train.train_panel``) and Trust (``ui.trust``: can you trust this model?). The chosen section, data source, phantom seed and sample index live
in the URL (``?section=train&seed=7``; the browser adds ``?class=`` on classification
cases), so a link reproduces the view (``ui.shared.url_state``).
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy, get_case, studies_of
from ui.shared import icons, projector, url_state
from ui.explore.browser import render_browser

Extra = Callable[[CaseStudy], None]


def _explore(case: CaseStudy, extras: tuple[Extra, ...]) -> None:
    from medlearn.errors import MedlearnError
    from ui.shared.text import plain

    render_browser(case)
    for extra in extras:
        try:
            extra(case)
        except MedlearnError as exc:  # one extra that cannot draw (store unavailable...) never takes the page
            st.warning(plain(str(exc)), icon=icons.WARNING)


def _predict(case: CaseStudy, extras: tuple[Extra, ...]) -> None:
    from ui.predict.predict_panel import render_predict_section

    with projector.staged():  # instructor mode: the picture and the answer first, the pickers below
        render_predict_section(case)


def _train(case: CaseStudy, extras: tuple[Extra, ...]) -> None:
    from ui.train.train_panel import render_train_section

    render_train_section(case)


def _trust(case: CaseStudy, extras: tuple[Extra, ...]) -> None:
    from ui.trust.section import render_trust_section

    render_trust_section(case)


SECTIONS: tuple[tuple[str, Callable[[CaseStudy, tuple[Extra, ...]], None]], ...] = (
    ("Explore", _explore),
    ("Predict", _predict),
    ("Train", _train),
    ("Trust", _trust),
)
SECTION_ICONS = {"Explore": icons.EXPLORE, "Predict": icons.PREDICT, "Train": icons.TRAIN, "Trust": icons.TRUST}


def render_case_page(key: str, *extras: Extra, study_extras: dict[str, tuple[Extra, ...]] | None = None) -> None:
    """Title, the study picker (where the page shows several studies), question, teaching
    summary with sources, then the chosen study's sections.

    Args:
        key: the page's case key (``"retina"``...).
        extras: functions drawn after the data browser in the Explore section of the page's
            own study.
        study_extras: the same for its further studies, by case key.
    """
    url_state.ensure_router()
    page = get_case(key)
    st.title(f"{icons.case_icon(page)} {page.title}")
    case = choose_study(page)
    if case.key != page.key:
        extras = (study_extras or {}).get(case.key, ())
    key = case.key
    st.markdown(f"#### {case.question}")
    if projector.is_on():  # on a projector the summary would push the image below the fold
        with st.expander("What the review found, teaching points and sources"):
            render_summary(case)
    else:
        render_summary(case)
    titles = [title for title, _ in SECTIONS]
    slugs = {section_slug(t): t for t in titles}
    url_state.restore("section", f"{key}.section", slugs.get, titles)
    _restore_sample(key)
    # One section is drawn per rerun (tabs would run all three): moving a slider in
    # Explore never pays for the Predict or Train panels.
    chosen = st.segmented_control("Section", titles, key=f"{key}.section",
                                  format_func=lambda t: f"{SECTION_ICONS[t]} {t}",
                                  default=None if f"{key}.section" in st.session_state else titles[0],
                                  label_visibility="collapsed") or titles[0]
    url_state.publish("section", section_slug(chosen))
    dict(SECTIONS)[chosen](case, extras)
    if chosen == titles[0]:  # other sections leave the sample in the link (and restore it on return)
        _publish_sample(key)


def choose_study(page: CaseStudy) -> CaseStudy:
    """The study the page shows: a picker (``?study=vessels``) where the page has further
    studies (grading, vessels and lesions on the retina page), else the page's own case."""
    studies = studies_of(page.key)
    if len(studies) == 1:
        return page
    slugs = {section_slug(s.study): s.key for s in studies}
    titles = {s.key: s.study or s.title for s in studies}
    state = f"{page.key}.study"
    url_state.restore("study", state, slugs.get, titles)
    chosen = st.segmented_control("Study", list(titles), key=state, format_func=titles.get,
                                  default=None if state in st.session_state else page.key,
                                  help="The review's systems for this disease: each study has its own data, "
                                       "models, predictions and trust lessons.") or page.key
    url_state.publish("study", None if chosen == page.key else section_slug(titles[chosen]))
    return get_case(chosen)


def section_slug(title: str) -> str:
    """``"Train"`` -> ``"train"`` (the URL's ``section`` value)."""
    return title.lower()


def _restore_sample(key: str) -> None:
    """Data source, phantom seed and sample index from the URL (widgets drawn by ``ui.explore.browser``)."""
    url_state.restore("source", f"browser.{key}.source")
    url_state.restore("seed", f"lab.{key}.seed", url_state.parse_int(0, 10_000))
    source = st.session_state.get(f"browser.{key}.source")
    if source:
        url_state.restore("sample", f"browser.{key}.{source}.open", url_state.parse_int(0, 10_000))


def _publish_sample(key: str) -> None:
    source = st.session_state.get(f"browser.{key}.source")
    url_state.publish("source", source)
    url_state.publish("seed", st.session_state.get(f"lab.{key}.seed") if source == "phantoms" else None)
    url_state.publish("sample", st.session_state.get(f"browser.{key}.{source}.open") if source else None)


def render_summary(case: CaseStudy) -> None:
    """What the review found, the teaching points, published figures and citations."""
    from ui.shared.data_choice import default_recipe

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
            f"\n**Default architectures:** {', '.join(default_recipe(case).architectures)}."
        )
    if case.published:
        st.markdown("**Published results**")
        st.table(published_table(case), hide_index=True, border="horizontal")  # a table wraps its text
    render_measured(case)
    with st.expander("Sources cited on this page"):
        for number, citation in enumerate(case.citations, 1):
            st.markdown(f"{number}. {citation}")


def render_measured(case: CaseStudy) -> None:
    """What MedLearn's own default recipes reached on real patients they never saw (the figures
    of docs/RESULTS.md, from ``medlearn.results``), beside the published ones."""
    from medlearn.results import figure_text, held_out_text, measured, model_text

    rows = measured(case.key)
    if not rows:
        return
    st.markdown("**Measured by MedLearn on real data it never trained on**",
                help="The default real-data recipes, trained on a 2-core CPU and scored on held-out patients "
                     "(cross-validated where the set is small): every figure with its 95 % interval and n. "
                     "Reproduce with scripts/real_results.py; docs/RESULTS.md explains each row.")
    # st.table wraps long cells (a dataframe would scroll the figures sideways, out of sight)
    st.table(pd.DataFrame([{"model": model_text(r), "held out": held_out_text(r),
                            "figures (95 % interval, n)": "; ".join(figure_text(f) for f in r["figures"].values())}
                           for r in rows]), hide_index=True, border="horizontal")


def published_table(case: CaseStudy) -> pd.DataFrame:
    """Literature figures for the case, one row each."""
    return pd.DataFrame(
        [{"model": p.model, "metric": p.metric, "value": f"{p.value:g}", "dataset": p.dataset, "source": p.source}
         for p in case.published]
    )
