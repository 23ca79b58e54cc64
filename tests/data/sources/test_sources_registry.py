"""The source registry agrees with the case registry; bad requests raise typed errors."""

import json

import pytest

from medlearn.cases import list_cases
from medlearn.data.sources import DatasetSource, get_source, list_sources, register_source
from medlearn.data.sources.base import KINDS
from medlearn.errors import MedlearnInputError, UnknownNameError


@pytest.mark.parametrize("case", [c.key for c in list_cases()], ids=lambda k: k)
def test_every_case_source_is_registered_and_serves_the_case(case):
    from medlearn.cases import get_case

    for name in get_case(case).sources:
        assert case in get_source(name).cases, f"{name} does not serve {case}"
    assert {s.name for s in list_sources(case)} >= set(get_case(case).sources)


def test_every_registered_source_is_named_by_some_case():
    named = {n for c in list_cases(studies=True) for n in c.sources}  # further studies' sources too
    assert {s.name for s in list_sources()} == named


@pytest.mark.parametrize("source", list_sources(), ids=lambda s: s.name)
def test_source_facts_are_complete_and_json_ready(source):
    facts = source.describe()
    json.dumps(facts)
    assert source.kind in KINDS and source.title and source.licence and source.description
    assert isinstance(source.is_available(), bool) and isinstance(source.status(), str)


def test_unknown_names_raise_unknown_name_error():
    with pytest.raises(UnknownNameError, match="known datasets"):
        get_source("no_such_dataset")
    with pytest.raises(UnknownNameError):
        list_sources("no_such_case")
    with pytest.raises(UnknownNameError):
        get_source("busi").load("no_such_case")


@pytest.mark.parametrize("kwargs", [{"split": "training"}, {"limit": 0}, {"limit": -2}, {"limit": 1.5}])
def test_bad_split_or_limit_is_a_readable_input_error(kwargs):
    with pytest.raises(MedlearnInputError):
        get_source("skimage_samples").load("retina", **kwargs)


def test_a_case_the_source_does_not_serve_is_an_input_error():
    with pytest.raises(MedlearnInputError, match="serves"):
        get_source("sunnybrook").load("breast")


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="twice"):
        register_source(get_source("busi"))
    assert issubclass(type(get_source("busi")), DatasetSource)
