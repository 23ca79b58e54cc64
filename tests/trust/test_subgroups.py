"""``medlearn.trust.subgroups``: the facts items carry, their subgroups (thirds of a number)
and the subgroup tables of a classifier and a segmenter."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.data.phantoms import generate
from medlearn.trust import subgroups as sg


def test_subgroups_from_what_the_items_say():
    phantoms = generate("breast", n=12, seed=3)
    facts = [sg.item_facts(p) for p in phantoms]
    assert all("seed" not in f and "truth_size" in f for f in facts)
    fields = dict(sg.subgroup_fields(facts))
    assert (
        "lesion_size_mm" in fields and "margin" in fields and "speckle" not in fields
    )  # named or categorical
    groups = sg.group_labels(facts, "lesion_size_mm")
    named = [g for g in groups if g is not None]
    assert {g.split(" (")[0] for g in named} == set(sg.THIRDS)
    truth = np.array([p.label == 1 for p in phantoms])
    score = np.linspace(0, 1, 12)
    table = sg.subgroup_table(groups, truth=truth, score=score, decided=score >= 0.5)
    assert [r["subgroup"].split(" (")[0] for r in table] == list(sg.THIRDS)
    assert sum(r["n"] for r in table) == len(named) and all({"AUC", "sensitivity"} <= set(r) for r in table)
    dice = sg.subgroup_table(["a", "a", "b", None], dice=np.array([0.2, 0.4, 0.9, 0.1]))
    assert dice[0] == {
        "subgroup": "a",
        "n": 2,
        "mean Dice": pytest.approx(0.3),
        "median Dice": pytest.approx(0.3),
        "lowest Dice": pytest.approx(0.2),
    }
    one = [{"scanner": "A"}, {"scanner": "A"}]
    assert sg.subgroup_fields(one) == []  # a single group is no comparison
