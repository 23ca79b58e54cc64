"""Hard-exudate phantoms: the retina phantom's photograph with its exudate mask (code 3) only."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.data.phantoms import generate, make_one, param_specs
from medlearn.data.phantoms.retina import LESION_CODES
from medlearn.data.phantoms.retina_lesions import EXUDATE_CODE, make
from medlearn.errors import MedlearnInputError


def test_the_picture_is_the_retina_phantoms_and_the_mask_its_exudates(monkeypatch):
    import medlearn.data.phantoms.retina as retina

    assert LESION_CODES[EXUDATE_CODE] == "hard exudate"
    seen = {}
    paint = retina.make

    def spy(*args, **kwargs):
        seen["phantom"] = paint(*args, **kwargs)
        seen["kwargs"] = kwargs
        return seen["phantom"]

    monkeypatch.setattr(retina, "make", spy)
    ph = make(np.random.default_rng(5), 0.3, 96, n_exudates=30, grade=2)
    assert seen["kwargs"]["n_exudates"] == 30 and seen["kwargs"]["grade"] == 2
    assert ph.image is seen["phantom"].image  # the retina phantom's own picture, not a copy
    assert np.array_equal(ph.mask, (seen["phantom"].mask == EXUDATE_CODE).astype(np.uint8))
    assert ph.label is None and ph.mask.dtype == np.uint8 and set(np.unique(ph.mask)) <= {0, 1}
    assert ph.mask.sum() == ph.params["exudate_pixels"] > 0
    assert ph.params["dr_grade"] == seen["phantom"].label  # the grade stays a fact about the photograph


def test_generate_is_reproducible_and_mostly_has_exudates():
    items = generate("retina_lesions", n=24, seed=3, size=64)
    again = make_one("retina_lesions", seed=3, index=5, size=64)
    assert np.array_equal(items[5].image.pixels, again.image.pixels) and np.array_equal(items[5].mask, again.mask)
    with_lesions = [p for p in items if p.mask.any()]
    assert 12 <= len(with_lesions) < len(items)  # about one in six drawn without exudates
    assert all(p.params["dr_grade"] >= 2 for p in items if p.params["n_exudates"] > 0)
    assert all(p.image.pixels.shape == (64, 64, 3) for p in items)


def test_parameters_fix_the_count_and_are_checked():
    none = make_one("retina_lesions", seed=1, index=0, size=64, n_exudates=0)
    assert not none.mask.any() and none.params["n_exudates"] == 0
    assert {s.name for s in param_specs("retina_lesions")} >= {"n_exudates", "grade", "n_cotton_wool"}
    with pytest.raises(MedlearnInputError):
        make_one("retina_lesions", n_exudates=-1)
    with pytest.raises(MedlearnInputError):
        make_one("retina_lesions", n_microaneurysms=3)  # not one of this study's controls
