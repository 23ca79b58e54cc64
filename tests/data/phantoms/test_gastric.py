"""Gastric H&E phantom: tile geometry, stains and the tumour mask."""

import numpy as np
import pytest
from skimage.color import rgb2hed

from medlearn.data.phantoms import generate

SIZE = 64


def test_tile_geometry():
    ph = generate("gastric", 1, seed=0, size=SIZE, field_um=256)[0]
    img = ph.image
    assert img.pixels.shape == (SIZE, SIZE, 3) and img.pixels.dtype == np.uint8
    assert img.modality == "SM" and img.is_rgb
    assert img.spacing == pytest.approx((0.256 / SIZE, 0.256 / SIZE))
    assert ph.label is None and ph.mask.shape == (SIZE, SIZE)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_tumour_fraction_sets_the_mask(fraction):
    ph = generate("gastric", 1, seed=1, size=SIZE, tumour_fraction=fraction)[0]
    assert set(np.unique(ph.mask)) <= {0, 1}
    assert ph.mask.mean() == pytest.approx(fraction, abs=0.05)


def test_pink_stroma_and_darker_nuclei_in_tumour():
    ph = generate("gastric", 1, seed=2, size=96, tumour_fraction=0.5, stain_jitter=0.0)[0]
    rgb = ph.image.pixels.astype(float)
    assert rgb[..., 0].mean() > rgb[..., 1].mean()  # eosin pink, haematoxylin purple: red over green
    hema = rgb2hed(ph.image.pixels)[..., 0]
    assert hema[ph.mask == 1].mean() > hema[ph.mask == 0].mean()


def test_stain_jitter_changes_colour_not_the_mask():
    a = generate("gastric", 1, seed=3, size=SIZE, stain_jitter=0.0)[0]
    b = generate("gastric", 1, seed=3, size=SIZE, stain_jitter=1.0)[0]
    np.testing.assert_array_equal(a.mask, b.mask)
    assert np.abs(a.image.pixels.astype(int) - b.image.pixels.astype(int)).mean() > 1.0


def test_difficulty_entraps_normal_glands_inside_the_tumour():
    easy = generate("gastric", 1, seed=4, size=SIZE, difficulty=0.0, tumour_fraction=1.0)[0]
    hard = generate("gastric", 1, seed=4, size=SIZE, difficulty=1.0, tumour_fraction=1.0)[0]
    assert easy.params["n_entrapped_glands"] == 0 and hard.params["n_entrapped_glands"] > 0
    assert hard.mask.all()  # residual glands stay inside the annotated tumour region
