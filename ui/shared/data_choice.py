"""Which data and recipe a case trains on here, remembered for a minute per data home and
mirror. Torch-free, so a case page's summary and the home page name the right defaults
without loading the training stack (``ui.train.jobs`` imports it)."""

from __future__ import annotations

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.home import data_home


def best_source(case: CaseStudy) -> str:
    """The case's default training data here (``medlearn.data.sources.choice.default_source``),
    looked up at most once a minute per data home and mirror: it reads two items of each real
    source, too slow (0.2-0.3 s) for every rerun of a page."""
    import os

    return _best_source(case.key, str(data_home()), os.environ.get("MEDLEARN_MIRROR", ""))


@st.cache_data(ttl=60, show_spinner=False)
def _best_source(case_key: str, home: str, mirror: str) -> str:
    from medlearn.cases import get_case
    from medlearn.data.sources.choice import default_source

    return default_source(get_case(case_key))


best_source.clear = lambda: _best_source.clear()  # after a download or import: the choice may change now


def default_recipe(case: CaseStudy):
    """The recipe the case's default models train with here: that of its best data
    (:func:`best_source`), whose networks and sizes may differ from the phantom recipe."""
    return case.recipe_for(best_source(case))


def source_dims(case: CaseStudy, source: str) -> int | None:
    """``choice.image_dims`` of a source, remembered per data home and mirror for a minute."""
    import os

    return _source_dims(case.key, source, str(data_home()), os.environ.get("MEDLEARN_MIRROR", ""))


@st.cache_data(ttl=60, show_spinner=False)
def _source_dims(case_key: str, source: str, home: str, mirror: str) -> int | None:
    from medlearn.cases import get_case
    from medlearn.data.sources.choice import image_dims

    return image_dims(source, get_case(case_key))
