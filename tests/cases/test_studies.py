"""Further studies on a case's page: registration rules, listing, the page key."""

from dataclasses import replace

import pytest

from medlearn.cases import base, get_case, list_cases, studies_of


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    return base._REGISTRY


def test_a_study_is_listed_after_its_page_case_and_not_as_a_page(registry):
    retina = get_case("retina")
    study = base.register_case(replace(retina, key="retina_study", title="Study", parent="retina", study="Vessels"))
    assert study not in list_cases()
    every = list_cases(studies=True)
    assert every.index(study) == every.index(retina) + 1 + sum(
        1 for c in every[every.index(retina) + 1:every.index(study)])
    assert studies_of("retina")[0] is retina and study in studies_of("retina")
    assert study.page_key == "retina" and retina.page_key == "retina"


def test_a_study_needs_a_page_parent_and_a_label(registry):
    retina = get_case("retina")
    with pytest.raises(ValueError):
        base.register_case(replace(retina, key="x1", parent="nowhere", study="X"))
    with pytest.raises(ValueError):
        base.register_case(replace(retina, key="x2", parent="retina", study=""))
    base.register_case(replace(retina, key="x3", parent="retina", study="X"))
    with pytest.raises(ValueError):  # a study of a study
        base.register_case(replace(retina, key="x4", parent="x3", study="Y"))
