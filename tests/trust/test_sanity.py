"""Cascading randomisation: layer order and groups, re-initialisation, similarity scores, and the
whole check on fresh-weight checkpoints (2D classifier, 2D segmenter on a volume, 3D segmenter)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError
from medlearn.predict import Predictor
from medlearn.trust.sanity import (
    layer_groups,
    reinitialise,
    sanity_check,
    similarity,
    verdict,
    weighted_layers,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pages"))
from model_fixtures import make_checkpoint  # noqa: E402


class Backwards(nn.Module):
    """Layers registered in the opposite order to the one the forward pass runs them."""

    def __init__(self):
        super().__init__()
        self.last = nn.Linear(4, 2)
        self.norm = nn.BatchNorm2d(4)
        self.first = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.last(self.pool(self.norm(self.first(x))).flatten(1))


def test_layers_come_in_execution_order_and_group_from_the_top():
    names = weighted_layers(Backwards(), torch.rand(1, 1, 8, 8))
    assert names == ["first", "norm", "last"]  # the pool holds no weights
    assert layer_groups(names, 5) == [["last"], ["norm"], ["first"]]
    many = [f"l{i}" for i in range(10)]
    groups = layer_groups(many, 4)
    assert groups[0] == ["l9"] and len(groups) == 4 and sum(groups, []) == many[::-1]
    with pytest.raises(MedlearnInputError):
        layer_groups([], 3)


def test_reinitialise_draws_new_weights_and_forgets_statistics():
    conv, norm = nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)
    before = conv.weight.detach().clone()
    with torch.no_grad():
        norm.running_mean.fill_(3.0)
        norm.weight.fill_(5.0)
    reinitialise(conv)
    reinitialise(norm)
    assert not torch.allclose(conv.weight, before)
    assert torch.all(norm.running_mean == 0) and torch.all(norm.weight == 1)


def test_similarity_of_same_unrelated_and_flat_maps():
    rng = np.random.default_rng(0)
    a = rng.random((32, 32))
    rho, ssim = similarity(a, a)
    assert rho == pytest.approx(1.0) and ssim == pytest.approx(1.0)
    rho, ssim = similarity(a, rng.random((32, 32)))
    assert abs(rho) < 0.2 and ssim < 0.2
    assert similarity(a, -a)[0] == pytest.approx(1.0)  # absolute maps, as Adebayo et al. compared them
    rho, _ = similarity(a, np.zeros_like(a))
    assert rho != rho  # a flat map has no ranks
    assert verdict(0.1, 0.1)[1] is True and verdict(0.45, 0.3)[1] is None and verdict(0.8, 0.7)[1] is False
    assert verdict(float("nan"), 0.0)[1] is True and "blank" in verdict(float("nan"), 0.0)[0]
    words, passed = verdict(float("nan"), 1.0, trained_flat=True)  # nothing shown, nothing to test
    assert passed is None and "Nothing to test" in words


@pytest.fixture
def served():
    """A predictor with its own model cache, as the server's."""
    return Predictor(device="cpu")


NETWORKS = [("breast", "alexnet"), ("hippocampus", "fcn"), ("hippocampus", "unet3d")]


@pytest.mark.parametrize("case, arch", NETWORKS)
def test_the_check_randomises_a_copy_from_the_top(case, arch, served):
    path = make_checkpoint(case, arch)
    image = generate(case, n=1, seed=0, size=32)[0].image
    cached = served.load(path).model
    before = {k: v.clone() for k, v in cached.state_dict().items()}
    result = sanity_check(case, image, path, n_stages=4, predictor=served)
    after = served.load(path).model
    assert after is cached and all(torch.equal(before[k], v) for k, v in after.state_dict().items())
    assert [s.randomised for s in result.stages][:2] == [0, 1] and len(result.stages) == 5
    assert result.stages[-1].randomised == result.total_layers and result.stages[-1].label.startswith("all")
    assert result.stages[1].label == "output layer"
    for stage in result.stages:
        assert stage.map.shape == tuple(image.spatial_shape)
        assert stage.map.min() >= 0 and stage.map.max() <= 1
    trained, final = result.stages[0], result.final
    assert not np.allclose(trained.map, final.map, atol=1e-3)  # random weights, another map
    assert not final.spearman > 0.95 and result.verdict and result.passed in (True, None, False)


def test_the_same_seed_gives_the_same_maps_and_another_seed_others(served):
    path = make_checkpoint("heart", "unet")
    image = generate("heart", n=1, seed=1, size=48)[0].image
    one, two = (sanity_check("heart", image, path, n_stages=3, predictor=served) for _ in range(2))
    assert all(np.array_equal(a.map, b.map) for a, b in zip(one.stages, two.stages))
    other = sanity_check("heart", image, path, n_stages=3, seed=1, predictor=served)
    assert any(not np.array_equal(a.map, b.map) for a, b in zip(one.stages[1:], other.stages[1:]))


def test_bad_requests_are_typed_errors(served):
    path = make_checkpoint("breast", "alexnet")
    with pytest.raises(MedlearnInputError):
        sanity_check("retina", generate("retina", n=1, seed=0, size=32)[0].image, path, predictor=served)
    with pytest.raises(MedlearnInputError):
        sanity_check("breast", np.zeros((32, 32)), path, predictor=served)
