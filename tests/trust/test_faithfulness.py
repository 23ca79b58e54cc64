"""Faithfulness: ROAD curves rank the true map above random maps on a model whose evidence is
known; shapes and bounds of the curves; occlusion finds the evidence; the whole test on
fresh-weight checkpoints (2D classifier, 2D segmenter on a volume, 3D classifier)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from torch import nn

from medlearn.data.phantoms import generate
from medlearn.predict import Predictor
from medlearn.trust.faithfulness import (
    FRACTIONS,
    BlurFill,
    ClassScore,
    faithfulness,
    occlusion,
    random_maps,
    road_curves,
    road_score,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pages"))
from model_fixtures import make_checkpoint  # noqa: E402

SQUARE = (slice(10, 22), slice(10, 22))


class CentreBrightness(nn.Module):
    """Logits ``(B, 2)``: class 1 grows with the brightness of the central square, nothing else."""

    def forward(self, x):
        centre = x[(Ellipsis, *SQUARE)].mean((1, 2, 3))
        return torch.stack([torch.zeros_like(centre), 8 * (centre - 0.5)], 1)


def bright_centre() -> torch.Tensor:
    x = torch.full((1, 1, 32, 32), 0.2)
    x[(Ellipsis, *SQUARE)] = 0.9
    return x


def test_the_true_map_beats_random_maps_and_curves_stay_in_bounds():
    x, scorer = bright_centre(), ClassScore(CentreBrightness())
    truth = np.zeros((32, 32), np.float32)
    truth[SQUARE] = 1.0
    maps = np.concatenate([truth[None], random_maps((32, 32), 3, seed=0)])
    maps = maps + 1e-6 * np.random.default_rng(0).random(maps.shape)  # ties broken, as faithfulness() does
    torch.manual_seed(0)
    curves = road_curves(scorer, x, maps, 1, NoisyLinearImputer())
    for c in curves:
        assert set(c) == {"MoRF", "LeRF"} and all(len(v) == len(FRACTIONS) for v in c.values())
        assert all(-1.0 <= v <= 1.0 for v in c["MoRF"] + c["LeRF"])
    ours, rand = curves[0], curves[1:]
    assert ours["MoRF"][-1] < -0.5  # the evidence gone: the answer goes
    assert abs(ours["LeRF"][0]) < 0.05  # the background gone: the answer stays
    assert all(road_score(ours) > road_score(r) + 0.1 for r in rand)


def test_occlusion_finds_the_evidence():
    drop = occlusion(ClassScore(CentreBrightness()), bright_centre(), 1)
    assert drop.shape == (32, 32)
    peak = np.unravel_index(np.argmax(drop), drop.shape)
    assert SQUARE[0].start <= peak[0] < SQUARE[0].stop and SQUARE[1].start <= peak[1] < SQUARE[1].stop
    assert drop[0, 0] < drop.max() / 2


def test_scores_are_probabilities_and_a_region_is_averaged():
    seg = nn.Conv2d(1, 3, 1)
    region = torch.zeros(16, 16, dtype=torch.bool)
    region[4:8, 4:8] = True
    out = ClassScore(seg, region)(torch.rand(2, 1, 16, 16))
    assert out.shape == (2, 3) and torch.allclose(out.sum(1), torch.ones(2), atol=1e-5)
    cls = ClassScore(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), temperature=2.0)(torch.rand(3, 1, 4, 4))
    assert out.min() >= 0 and torch.allclose(cls.sum(1), torch.ones(3), atol=1e-5)


def test_blur_fill_keeps_what_stays_and_random_maps_repeat_with_their_seed():
    img = torch.rand(1, 8, 16, 16)
    keep = torch.zeros(8, 16, 16)
    keep[:, :8] = 1
    filled = BlurFill()(img, keep)
    assert filled.shape == img.shape and torch.equal(filled[:, :, :8], img[:, :, :8])
    assert not torch.allclose(filled[:, :, 8:], img[:, :, 8:])
    a, b = random_maps((8, 16, 16), 2, seed=4), random_maps((8, 16, 16), 2, seed=4)
    assert a.shape == (2, 8, 16, 16) and np.array_equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert not np.array_equal(a, random_maps((8, 16, 16), 2, seed=5))


@pytest.mark.parametrize("case, arch", [("breast", "alexnet"), ("hippocampus", "fcn"), ("lung", "resnet3d")])
def test_the_whole_test_on_a_served_model(case, arch):
    path = make_checkpoint(case, arch)
    image = generate(case, n=1, seed=0, size=32)[0].image
    served = Predictor(device="cpu")
    result = faithfulness(case, image, path, n_random=1, fractions=(0.2, 0.6), predictor=served)
    assert [(c.map_name, c.order) for c in result.curves] == [
        ("Grad-CAM", "MoRF"), ("Grad-CAM", "LeRF"), ("random map", "MoRF"), ("random map", "LeRF")]
    assert all(len(c.change) == 2 and all(-1 <= v <= 1 for v in c.change) for c in result.curves)
    assert set(result.road) == {"Grad-CAM", "random map"} and all(np.isfinite(list(result.road.values())))
    assert 0 <= result.probability <= 1
    for m in (result.cam, result.occlusion):
        assert m.shape == tuple(image.spatial_shape) and 0 <= m.min() and m.max() <= 1
    assert (result.slice_index is not None) == (arch == "fcn")  # a 2D net on a volume: one slice
    assert ("3D" in result.fill) == (arch == "resnet3d")
