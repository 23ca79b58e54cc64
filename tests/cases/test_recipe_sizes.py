"""Recipe input sizes resolve what the case segments (calibration in docs/PHANTOMS.md)."""

import numpy as np

from medlearn.cases import get_case
from medlearn.data.phantoms import generate


def test_heart_recipe_resolves_the_lv_cavity():
    """At 64 px over a 350 mm field of view the cavity is about 7 px wide (median) and a U-Net
    labels it all myocardium; the recipe's size must give it at least 10 px across."""
    size = get_case("heart").recipe.input_size
    phantoms = generate("heart", n=12, seed=3, size=size)
    cavity_px = np.median([(p.mask == 1).sum() for p in phantoms])
    assert 2 * np.sqrt(cavity_px / np.pi) >= 10  # equivalent diameter
