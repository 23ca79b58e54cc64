import pytest

from medlearn.cases import get_case, list_cases
from medlearn.cases.base import register_case
from medlearn.errors import UnknownNameError

KEYS = ["retina", "breast", "lung", "hippocampus", "heart", "gastric"]


def test_six_cases_in_teaching_order():
    assert [c.key for c in list_cases()] == KEYS


@pytest.mark.parametrize("key", KEYS)
def test_case_is_complete(key):
    case = get_case(key)
    assert case.title and case.question and case.summary and case.citations
    assert case.task.kind in {"classification", "segmentation"}
    assert case.task.spatial_dims in (2, 3)
    assert case.task.spatial_dims in case.task.model_dims or max(case.task.model_dims) <= case.task.spatial_dims
    assert case.task.num_classes >= 2
    assert case.recipe.architectures and case.sources and case.metrics
    assert "phantoms" in case.sources and "folder" in case.sources
    if case.task.is_segmentation:
        assert case.task.class_names[0] == "background"


def test_unknown_case_lists_known_ones():
    with pytest.raises(UnknownNameError, match="retina"):
        get_case("kidney")


def test_duplicate_registration_refused():
    with pytest.raises(ValueError):
        register_case(get_case("retina"))
