"""Hippocampus MRI phantom: determinism, MSD-like geometry, head/body labels, atrophy, side."""

import numpy as np
import pytest

from medlearn.data.phantoms import generate, make_one
from medlearn.errors import MedlearnInputError


def test_same_seed_same_volume():
    a, b = (make_one("hippocampus", seed=2, size=16) for _ in range(2))
    assert np.array_equal(a.image.pixels, b.image.pixels) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image.pixels, make_one("hippocampus", seed=3, size=16).image.pixels)


def test_shape_spacing_and_mr_units():
    ph = make_one("hippocampus", seed=0, size=24)
    img = ph.image
    assert img.shape == (24, 36, 24) and img.spacing == pytest.approx((1.5, 1.5, 1.5))
    assert img.modality == "MR" and img.pixels.dtype == np.float32 and img.pixels.min() >= 0
    assert 200 < np.median(img.pixels) < 1000 and ph.label is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_head_anterior_body_posterior_inside_fov(seed):
    ph = make_one("hippocampus", seed=seed, size=32)
    m = ph.mask
    assert set(np.unique(m)) == {0, 1, 2}
    y_head, y_body = np.nonzero(m == 1)[1].mean(), np.nonzero(m == 2)[1].mean()
    assert y_head > y_body  # Y runs posterior -> anterior
    for axis in range(3):
        assert not m.take([0, -1], axis=axis).any()  # the crop surrounds the hippocampus
    voxel = float(np.prod(ph.image.spacing))
    assert ph.params["volume_head_mm3"] == pytest.approx((m == 1).sum() * voxel, abs=0.006)
    assert ph.params["volume_body_mm3"] == pytest.approx((m == 2).sum() * voxel, abs=0.006)
    assert 1500 < ph.params["volume_mm3"] < 5500  # adult hippocampus, one side


def test_hippocampus_is_grey_matter_darker_than_surroundings_median():
    ph = make_one("hippocampus", seed=4, size=32, difficulty=0.0)
    inside = np.median(ph.image.pixels[ph.mask > 0])
    assert np.percentile(ph.image.pixels, 5) < inside < np.percentile(ph.image.pixels, 90)


def test_atrophy_shrinks_the_hippocampus():
    healthy = make_one("hippocampus", seed=5, size=32, atrophy=0.0, side="right")
    ad = make_one("hippocampus", seed=5, size=32, atrophy=1.0, side="right")
    assert ad.params["volume_mm3"] < 0.8 * healthy.params["volume_mm3"]


def test_left_is_the_mirror_of_right():
    right = make_one("hippocampus", seed=6, size=16, side="right", atrophy=0.3)
    left = make_one("hippocampus", seed=6, size=16, side="left", atrophy=0.3)
    assert np.array_equal(left.mask, right.mask[..., ::-1])


@pytest.mark.parametrize("kw", [{"atrophy": 1.5}, {"side": "middle"}, {"size": 4}])
def test_bad_inputs_raise_typed_errors(kw):
    with pytest.raises(MedlearnInputError):
        make_one("hippocampus", seed=0, **kw)


def _rim_contrast(difficulty):
    from scipy import ndimage

    ph = make_one("hippocampus", seed=9, size=32, difficulty=difficulty, atrophy=0.2, side="right")
    inside = ph.mask > 0
    rim = ndimage.binary_dilation(inside, iterations=2) & ~inside
    return np.median(ph.image.pixels[rim]) / np.median(ph.image.pixels[inside])


def test_difficulty_fades_the_outline():
    """The white-matter rim outlining the hippocampus (MSD: 1.2-1.5 x inside) fades with difficulty."""
    easy, default, hard = (_rim_contrast(d) for d in (0.2, 0.5, 0.8))
    assert easy > default > hard > 1.0
    assert 1.2 < default < 1.5


def test_mild_atrophy_prior_like_msd():
    volumes = [p.params["volume_mm3"] for p in generate("hippocampus", n=12, seed=1, size=24)]
    assert 3000 < np.median(volumes) < 4000  # MSD Task04: mean 3,400 voxels of 1 mm3 (uniform prior: 2,700)
