"""The Trust section of every case page: the lessons that fit the case, the model under test
picked as Predict picks it, and a plain message when nothing is trained yet."""

from __future__ import annotations

import pytest

from medlearn.cases import get_case, list_cases
from model_fixtures import make_checkpoint
from ui.trust.section import LESSONS, lessons_for


def trust_section(open_page, key: str):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value("Trust").run()
    return at


def test_lessons_fit_their_cases():
    for case in list_cases():
        titles = [lesson.title for lesson in lessons_for(case)]
        assert titles[0] == "Evaluate" and "Robustness" in titles
        assert ("Reader study" in titles) is (not case.task.is_segmentation)
    assert len({lesson.module for lesson in LESSONS}) == len(LESSONS)


def test_without_a_model_the_section_says_so(open_page, assert_clean):
    at = trust_section(open_page, "lung")
    assert_clean(at)
    assert any("No trained model" in i.value for i in at.info)
    with pytest.raises(KeyError):  # no lesson without a model
        at.segmented_control(key="trust.lung.lesson")


@pytest.mark.parametrize("key", ["retina", "gastric"])
def test_each_lesson_opens_on_a_classifier_and_a_segmenter(key, open_page, assert_clean):
    make_checkpoint(key)
    at = trust_section(open_page, key)
    assert_clean(at)
    lesson = at.segmented_control(key=f"trust.{key}.lesson")
    assert lesson.options == [lesson.title for lesson in lessons_for(get_case(key))]
    for title in lesson.options[1:]:  # Evaluate (the default) predicts every held-out item: its own tests
        at.segmented_control(key=f"trust.{key}.lesson").set_value(title).run()
        assert_clean(at)
