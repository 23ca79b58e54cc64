import numpy as np
import pytest

from medlearn.data.image import MedImage
from medlearn.enhance import ace
from medlearn.enhance.ace import local_stats
from medlearn.errors import MedlearnInputError


def _by_hand(img, window, alpha, max_gain):
    """The ACE formula pixel by pixel with explicit reflected windows."""
    r = window // 2
    padded = np.pad(img.astype(np.float64), r, mode="symmetric")
    out = np.empty(img.shape)
    sigma_g = img.std()
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            patch = padded[y : y + window, x : x + window]
            m, s = patch.mean(), patch.std()
            g = max_gain if s < 1e-6 else min(alpha * sigma_g / s, max_gain)
            out[y, x] = m + g * (img[y, x] - m)
    return out


def test_ace_matches_formula_by_hand():
    rng = np.random.default_rng(0)
    img = rng.normal(100, 20, (9, 11)).astype(np.float32)
    out = ace(img, window=3, alpha=0.8, max_gain=2.5)
    np.testing.assert_allclose(out, _by_hand(img, 3, 0.8, 2.5), rtol=1e-4, atol=1e-3)


def test_gain_cap_applies_in_flat_noisy_region():
    img = np.zeros((16, 16), np.float32)
    img[:, 8:] = 100.0  # high global contrast
    img[4, 2] = 1.0  # a tiny bump in a flat region: local sigma is small, gain hits the cap
    out = ace(img, window=3, alpha=1.0, max_gain=3.0)
    mean = img[3:6, 1:4].mean()
    assert out[4, 2] == pytest.approx(mean + 3.0 * (1.0 - mean), rel=1e-4)


def test_local_stats_constant_image():
    m, s = local_stats(np.full((5, 5), 7.0, np.float32), 3)
    assert np.allclose(m, 7.0) and np.allclose(s, 0.0, atol=1e-3)


def test_ace_keeps_medimage_geometry_and_handles_volumes_and_colour():
    vol = MedImage(np.random.default_rng(1).normal(size=(3, 12, 12)).astype(np.float32), spacing=(2, 1, 1), modality="MR")
    out = ace(vol, window=5)
    assert isinstance(out, MedImage) and out.shape == (3, 12, 12) and out.spacing == (2.0, 1.0, 1.0)
    rgb = MedImage(np.random.default_rng(2).integers(0, 256, (10, 10, 3)).astype(np.uint8), modality="SM")
    out = ace(rgb, window=3)
    assert out.shape == (10, 10, 3) and out.pixels.min() >= 0 and out.pixels.max() <= 255


@pytest.mark.parametrize("kwargs", [{"window": 4}, {"window": 1}, {"alpha": 0}, {"max_gain": 0.5}])
def test_ace_rejects_bad_parameters(kwargs):
    with pytest.raises(MedlearnInputError):
        ace(np.ones((8, 8)), **kwargs)


def test_ace_rejects_non_images():
    with pytest.raises(MedlearnInputError):
        ace(np.ones(5))
    with pytest.raises(MedlearnInputError):
        ace(np.array([[np.nan, 1.0], [1.0, 1.0]]))
