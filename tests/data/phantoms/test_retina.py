"""Fundus phantom: geometry, colours, and the clinical grading rules."""

import numpy as np
import pytest

from medlearn.data.phantoms import generate
from medlearn.data.phantoms.retina import FOV_MM, clinical_grade

SIZE = 64


def _fov(size):
    yy, xx = np.mgrid[:size, :size]
    return np.hypot(yy - size / 2, xx - size / 2) < 0.49 * size - 1


def test_image_geometry_and_colour():
    ph = generate("retina", 1, seed=0, size=SIZE, grade=0)[0]
    img = ph.image
    assert img.pixels.shape == (SIZE, SIZE, 3) and img.pixels.dtype == np.uint8
    assert img.modality == "OP" and img.is_rgb
    assert img.spacing[0] == pytest.approx(FOV_MM / (0.98 * SIZE))
    inside = img.pixels[_fov(SIZE)].astype(float).mean(0)
    assert inside[0] > inside[1] > inside[2]  # orange-red fundus
    assert img.pixels[0, 0].max() == 0 and img.pixels[-1, -1].max() == 0  # black outside the field


@pytest.mark.parametrize("grade,allowed,required", [
    (0, set(), set()),
    (1, {1}, {1}),
    (2, {1, 2, 3, 4}, set()),
    (3, {1, 2, 3, 4, 5, 6}, {2}),
])
def test_grade_rules_in_the_mask(grade, allowed, required):
    for ph in generate("retina", 4, seed=grade, size=SIZE, difficulty=0.2, grade=grade):
        codes = set(np.unique(ph.mask)) - {0}
        assert ph.label == grade
        assert codes <= allowed and required <= codes
        if grade == 2:
            assert codes & {2, 3, 4}
        if grade == 3:  # at least one arm of the 4-2-1 rule, and it shows in the mask
            assert min(ph.params["haem_per_quadrant"]) >= 20 or codes & {5, 6}
        assert not ph.mask[~_fov(SIZE) & (np.hypot(*np.mgrid[:SIZE, :SIZE] - SIZE / 2) > 0.49 * SIZE + 1)].any()


def _four_two_one(p):
    return [min(p["haem_per_quadrant"]) >= 20, p["beading_quadrants"] >= 2, p["irma"] == 1]


def test_severe_meets_the_four_two_one_rule():
    for ph in generate("retina", 6, seed=1, size=32, grade=3):
        assert any(_four_two_one(ph.params))
    easy = generate("retina", 1, seed=1, size=SIZE, grade=3, difficulty=0.0)[0]
    assert all(_four_two_one(easy.params))  # the typical, florid picture when easy


def test_grade_prior_is_a_screening_population():
    grades = np.bincount([ph.label for ph in generate("retina", 300, seed=0, size=16)], minlength=5) / 300
    assert 0.35 < grades[0] < 0.55 and grades[0] > grades[2] > grades[4]
    assert grades[4] < 0.12 and grades[1] < 0.2


def test_lesion_counts_follow_the_grade():
    mild = generate("retina", 20, seed=3, size=16, grade=1)
    moderate = generate("retina", 20, seed=3, size=16, grade=2)
    assert max(p.params["n_microaneurysms"] for p in mild) <= 10  # a few dots: nearly normal
    assert all(p.params["n_haemorrhages"] == p.params["n_exudates"] == 0 for p in mild)
    assert np.mean([p.params["n_microaneurysms"] for p in moderate]) > np.mean(
        [p.params["n_microaneurysms"] for p in mild])


def test_a_single_microaneurysm_is_never_lost():
    for ph in generate("retina", 5, seed=9, size=SIZE, grade=1, n_microaneurysms=1):
        assert ph.label == 1 and (ph.mask == 1).sum() >= 1


def test_proliferative_has_new_vessels_or_preretinal_bleed():
    for ph in generate("retina", 4, seed=4, size=SIZE, grade=4):
        assert ph.label == 4
        assert {7, 8} & set(np.unique(ph.mask))


def test_label_follows_what_was_drawn():
    ph = generate("retina", 1, seed=2, size=SIZE, grade=1, n_haemorrhages=5)[0]
    assert ph.label == 2  # a haemorrhage makes it moderate whatever grade was asked
    f = {"n_microaneurysms": 3, "n_haemorrhages": 90, "n_exudates": 0, "n_cotton_wool": 0,
         "haem_per_quadrant": [25, 25, 20, 20], "beading_quadrants": 0, "irma": 0,
         "neovascularisation": 0, "preretinal": 0}
    assert clinical_grade(f) == 3
    assert clinical_grade({**f, "haem_per_quadrant": [40, 30, 19, 1]}) == 2


def test_disc_is_the_brightest_structure():
    ph = generate("retina", 1, seed=5, size=128, grade=0, eye="right")[0]
    grey = ph.image.to_grey()
    y, x = np.unravel_index(np.argmax(ndi_smooth(grey)), grey.shape)
    assert x > 64  # right eye: disc on the right of the photograph


def ndi_smooth(a):
    from scipy import ndimage

    return ndimage.uniform_filter(a, 7)


def test_picture_is_contiguous_rgb_and_the_same_at_any_call_order():
    a = generate("retina", 1, seed=6, size=48)[0]
    generate("retina", 1, seed=6, size=80)  # another size in between (cached camera frames)
    b = generate("retina", 1, seed=6, size=48)[0]
    assert a.image.pixels.flags.c_contiguous and a.image.pixels.shape == (48, 48, 3)
    assert np.array_equal(a.image.pixels, b.image.pixels) and np.array_equal(a.mask, b.mask)


def test_sensor_noise_grows_with_difficulty():
    from scipy import ndimage

    from medlearn.data.phantoms.retina import _camera

    def noise(d):
        flat = np.full((3, SIZE, SIZE), 0.5, np.float32)  # a blank fundus: only the camera's noise has detail
        mask = np.zeros((SIZE, SIZE), np.uint8)
        rgb = _camera(np.random.default_rng(0), flat, mask, 0.0, d, {"R": 0.49 * SIZE})
        red = rgb[..., 0].astype(float)
        return (red - ndimage.uniform_filter(red, 3))[_fov(SIZE)].std() / np.sqrt(8 / 9)  # grey levels

    assert 2.0 < noise(0.0) < 3.4 and 5.4 < noise(1.0) < 7.6  # σ = (0.01 + 0.015 d) of full scale (2.6, 6.4)
