"""Vessel phantoms: the retina phantom's photograph, the exact mask of the tree it drew."""

import numpy as np

from medlearn.data.fov import fov_mask
from medlearn.data.phantoms import generate, make_one, param_specs
from medlearn.data.phantoms.retina import compose, make

SIZE = 192


def test_the_photograph_is_the_retina_phantoms():
    vessels = generate("retina_vessels", 2, seed=4, size=SIZE)
    for index, ph in enumerate(vessels):
        retina = make_one("retina", seed=4, index=index, size=SIZE)
        assert np.array_equal(ph.image.pixels, retina.image.pixels)
        assert ph.label is None and ph.params["dr_grade"] == retina.label  # a fact, not the target
    assert [s.name for s in param_specs("retina_vessels")] == [s.name for s in param_specs("retina")]


def test_mask_is_the_drawn_tree_inside_the_field():
    ph = generate("retina_vessels", 1, seed=1, size=SIZE, grade=0)[0]
    mask, rgb = ph.mask, ph.image.pixels.astype(float)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert 0.02 < mask.mean() < 0.12 and ph.params["vessel_fraction"] == round(float(mask.mean()), 4)
    fov = fov_mask(ph.image.pixels)
    assert mask[0, 0] == 0 and mask[~fov].mean() < 0.01  # nothing in the black surround
    green = rgb[..., 1]
    assert green[(mask == 1) & fov].mean() < 0.85 * green[(mask == 0) & fov].mean()  # vessels are darker


def test_compose_returns_make_and_the_coverage():
    rng = lambda: np.random.default_rng(7)  # noqa: E731
    phantom, coverage = compose(rng(), 0.5, 96)
    assert np.array_equal(phantom.image.pixels, make(rng(), 0.5, 96).image.pixels)
    assert coverage.shape == (96, 96) and coverage.dtype == np.float32
    assert 0 <= coverage.min() <= coverage.max() <= 1
