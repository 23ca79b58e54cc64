"""The phantom source adapts medlearn.data.phantoms.generate into Samples."""

import numpy as np
import pytest

from medlearn.cases import get_case
from medlearn.data.sources import get_source


@pytest.mark.parametrize("case", ["breast", "heart"])
def test_phantoms_are_samples_with_truth_and_deterministic(case):
    source = get_source("phantoms")
    a = source.load(case, "train", limit=3, size=32)
    b = source.load(case, "train", limit=3, size=32)
    assert len(a) == 3 and [s.id for s in a] == [s.id for s in b]
    assert all(np.array_equal(x.image.pixels, y.image.pixels) for x, y in zip(a, b))
    task = get_case(case).task
    for s in a:
        assert s.mask is not None and s.mask.shape == s.image.spatial_shape
        assert (s.label is None) == task.is_segmentation and "params" in s.meta


def test_splits_use_disjoint_seeds_and_recipe_sizes():
    source = get_source("phantoms")
    train = source.load("breast", "train", n=2, size=32)
    val = source.load("breast", "val", n=2, size=32)
    assert not any(np.array_equal(t.image.pixels, v.image.pixels) for t in train for v in val)
    every = source.load("breast", "all", n=1, size=32)
    assert [s.meta["split"] for s in every] == ["train", "val", "test"]
    assert len(source.load("breast", "all", limit=5, size=32)) == 5
    assert source.is_available() and source.availability() == "built in"
