"""The Trust section: the model under test (the case's best finished network by default,
as Predict) and one lesson at a time, chosen with a segmented control; only the chosen
lesson runs.

A lesson is ``Lesson(title, module, applies)``: ``module`` names a module of this package
with ``render(case, model, key)``; ``applies(case)`` says whether it fits the case (all
lessons fit classification and segmentation unless said otherwise).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from medlearn.cases import CaseStudy
from ui.shared import icons
def _always(case: CaseStudy) -> bool:
    return True


def _classification(case: CaseStudy) -> bool:
    return not case.task.is_segmentation


def _not_detection(case: CaseStudy) -> bool:
    """Robustness scores Dice or class probabilities, Shortcut learning plants a class cue: neither
    measures a box detector (whose figure is the FROC), so they are not offered to one."""
    return not case.task.is_detection


@dataclass(frozen=True)
class Lesson:
    title: str
    module: str
    applies: Callable[[CaseStudy], bool] = _always


LESSONS: tuple[Lesson, ...] = (
    Lesson("Evaluate", "evaluate_view"),
    Lesson("Explanations under test", "explanations_view"),
    Lesson("Robustness", "robustness_view", _not_detection),
    Lesson("Shortcut learning", "shortcut_view", _not_detection),
    Lesson("Overfitting", "overfitting_view"),
    Lesson("Reader study", "reader_view", _classification),
)


def lessons_for(case: CaseStudy) -> list[Lesson]:
    """The lessons that fit ``case``, in teaching order."""
    return [lesson for lesson in LESSONS if lesson.applies(case)]


def render_trust_section(case: CaseStudy) -> None:
    """Pick the model under test and a lesson; draw that lesson."""
    from ui.predict.first_model import render_untrained
    from ui.predict.predict_panel import model_picker

    key = f"trust.{case.key}"
    st.subheader(f"{icons.TRUST} Can you trust this model?")
    st.caption("Each lesson puts this case's trained model to a test a careful reader would ask for "
               "before believing its answers.")
    model = model_picker(case, key)
    if model is None:
        render_untrained(case, key)
        return
    lessons = lessons_for(case)
    titles = [lesson.title for lesson in lessons]
    chosen = st.segmented_control("Lesson", titles, key=f"{key}.lesson",
                                  default=None if f"{key}.lesson" in st.session_state else titles[0]) or titles[0]
    if case.task.is_detection:
        st.caption("A box detector is scored by FROC (found objects per false alarm): Robustness and Shortcut "
                   "learning, which score pixels or classes, are left out here.")
    lesson = lessons[titles.index(chosen)]
    importlib.import_module(f"ui.trust.{lesson.module}").render(case, model, f"{key}.{lesson.module}")
