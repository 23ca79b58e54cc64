"""Breast ultrasound phantom: B-mode geometry and the BI-RADS lesion rules."""

import numpy as np
import pytest

from medlearn.data.phantoms import generate

SIZE = 64


def test_b_mode_image_geometry():
    ph = generate("breast", 1, seed=0, size=SIZE, field_mm=40)[0]
    assert ph.image.pixels.shape == (SIZE, SIZE) and ph.image.pixels.dtype == np.uint8
    assert ph.image.modality == "US" and ph.image.spacing == pytest.approx((40 / SIZE, 40 / SIZE))
    assert ph.mask.shape == (SIZE, SIZE) and ph.mask.dtype == np.uint8


@pytest.mark.parametrize("finding,label", [("normal", 0), ("cyst", 0), ("fibroadenoma", 0), ("malignant", 1)])
def test_label_and_mask_follow_the_finding(finding, label):
    for ph in generate("breast", 3, seed=1, size=SIZE, finding=finding):
        assert ph.label == label and ph.params["finding"] == finding
        assert ph.mask.any() == (finding != "normal")
        assert set(np.unique(ph.mask)) <= {0, 1}


def test_cyst_is_anechoic_and_skin_line_bright():
    ph = generate("breast", 1, seed=2, size=SIZE, finding="cyst", difficulty=0.0, lesion_size_mm=12)[0]
    img = ph.image.pixels.astype(float)
    assert img[ph.mask == 1].mean() < 0.5 * img[ph.mask == 0].mean()
    assert img[:2].mean() > img[2:].mean()


def test_orientation_descriptor_shapes_the_mask():
    for orient, taller in (("parallel", False), ("not parallel", True)):
        ph = generate("breast", 1, seed=3, size=SIZE, finding="malignant", margin="circumscribed",
                      orientation=orient, lesion_size_mm=14)[0]
        ys, xs = np.nonzero(ph.mask)
        assert (np.ptp(ys) > np.ptp(xs)) == taller


def test_shadowing_darkens_and_enhancement_brightens_behind_the_lesion():
    kw = dict(seed=4, size=SIZE, finding="fibroadenoma", lesion_size_mm=12, difficulty=0.0)
    means = {}
    for post in ("shadowing", "enhancement"):
        ph = generate("breast", 1, posterior=post, **kw)[0]
        ys, xs = np.nonzero(ph.mask)
        below = ph.image.pixels[ys.max() + 2:, xs.min():xs.max() + 1]
        means[post] = below.astype(float).mean()
    assert means["shadowing"] < means["enhancement"] - 10


def test_difficulty_blurs_descriptors_between_classes():
    easy = generate("breast", 30, seed=5, size=16, difficulty=0.0, finding="malignant")
    hard = generate("breast", 30, seed=5, size=16, difficulty=1.0, finding="malignant")
    typical = lambda ps: sum(p.params["posterior"] == "shadowing" for p in ps)  # noqa: E731
    assert typical(easy) > typical(hard)
