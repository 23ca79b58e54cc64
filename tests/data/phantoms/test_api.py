"""Package entry points: generate, make_one, param_specs, parameter checks."""

import json

import numpy as np
import pytest

from medlearn.data.phantoms import generate, list_generators, make_one, param_specs
from medlearn.errors import MedlearnInputError, UnknownNameError

MINE = ("retina", "breast", "gastric")


def _same(a, b):
    assert np.array_equal(a.image.pixels, b.image.pixels)
    assert a.label == b.label
    assert (a.mask is None and b.mask is None) or np.array_equal(a.mask, b.mask)
    assert a.params == b.params


def test_all_six_cases_registered():
    assert set(list_generators()) >= {"retina", "breast", "lung", "hippocampus", "heart", "gastric"}


@pytest.mark.parametrize("case", MINE)
def test_same_seed_same_phantoms_and_items_do_not_depend_on_n(case):
    a = generate(case, 3, seed=7, size=32)
    b = generate(case, 3, seed=7, size=32)
    for x, y in zip(a, b):
        _same(x, y)
    _same(generate(case, 1, seed=7, size=32)[0], a[0])
    _same(make_one(case, seed=7, index=2, size=32), a[2])
    assert not np.array_equal(a[0].image.pixels, generate(case, 1, seed=8, size=32)[0].image.pixels)


@pytest.mark.parametrize("case", MINE)
def test_params_are_json_ready_and_reproduce_the_case(case):
    ph = generate(case, 1, seed=3, size=32)[0]
    record = json.loads(json.dumps(ph.params))
    assert record["seed"] == 3 and record["index"] == 0 and record["size"] == 32
    fixed = {s.name: record[s.name] for s in param_specs(case) if s.name in record}
    again = generate(case, 1, seed=3, size=32, **fixed)[0]
    np.testing.assert_array_equal(again.image.pixels, ph.image.pixels)


@pytest.mark.parametrize("case", MINE)
def test_param_specs_are_consistent(case):
    specs = param_specs(case)
    assert specs and len({s.name for s in specs}) == len(specs)
    for s in specs:
        assert s.choices or s.minimum < s.maximum
        assert s.default is None or s.minimum <= s.default <= s.maximum


def test_unknown_param_lists_valid_ones():
    with pytest.raises(MedlearnInputError, match="valid ones: .*grade"):
        generate("retina", 1, size=32, colour="blue")


@pytest.mark.parametrize("kwargs", [
    {"grade": 7}, {"grade": 1.5}, {"grade": "two"}, {"eye": "third"}, {"illumination": float("nan")},
])
def test_bad_param_values_are_refused(kwargs):
    with pytest.raises(MedlearnInputError):
        generate("retina", 1, size=32, **kwargs)


@pytest.mark.parametrize("kwargs", [
    {"n": 0}, {"n": 2.5}, {"seed": -1}, {"difficulty": 1.5}, {"size": 2}, {"size": 5000}, {"size": 32.0},
])
def test_bad_common_arguments_are_refused(kwargs):
    with pytest.raises(MedlearnInputError):
        generate("breast", **{"n": 1, "size": 32, **kwargs})


def test_unknown_case():
    with pytest.raises(UnknownNameError, match="retina"):
        generate("kidney", 1)


def test_default_size_and_user_override_recorded():
    ph = generate("breast", 1, finding="cyst")[0]
    assert ph.image.pixels.shape == (128, 128)
    assert ph.params["finding"] == "cyst" and ph.label == 0
