"""Chest slices with nodules (lung_detection): exact boxes, counts, parameters, LIDC composites."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.data.phantoms import generate, make_one
from medlearn.data.phantoms.lung_slice import composite
from medlearn.errors import MedlearnInputError
from medlearn.froc import truth_boxes

SIZE = 96


def test_boxes_are_the_masks_regions_exactly():
    for ph in generate("lung_detection", n=4, seed=3, size=SIZE, n_nodules=2):
        boxes, _ = truth_boxes(ph.mask)
        listed = sorted(tuple(n["box"]) for n in ph.params["nodules"])
        assert sorted(map(tuple, boxes.astype(int).tolist())) == listed
        assert ph.params["n_nodules"] == len(listed) <= 2
        assert ph.image.pixels.dtype == np.int16 and ph.image.spatial_shape == (SIZE, SIZE)
        for nod in ph.params["nodules"]:  # a nodule sits in aerated lung, brighter than it
            x0, y0, x1, y1 = nod["box"]
            assert ph.image.pixels[y0:y1, x0:x1][ph.mask[y0:y1, x0:x1] > 0].mean() > -750
        assert ph.label is None


def test_slices_without_nodules_and_the_count_prior():
    empty = make_one("lung_detection", seed=0, index=0, size=SIZE, n_nodules=0)
    assert not empty.mask.any() and empty.params["nodules"] == []
    counts = [p.params["n_nodules"] for p in generate("lung_detection", n=12, seed=2, size=64)]
    assert 0 in counts and max(counts) >= 1  # some slices have none, some have nodules


def test_parameters_are_checked_and_slices_reproducible():
    with pytest.raises(MedlearnInputError):
        generate("lung_detection", n=1, size=SIZE, n_nodules=9)
    with pytest.raises(MedlearnInputError):
        generate("lung_detection", n=1, size=SIZE, type="glass")
    a = make_one("lung_detection", seed=4, index=2, size=SIZE, diameter_mm=12.0, n_nodules=1)
    b = generate("lung_detection", n=3, seed=4, size=SIZE, diameter_mm=12.0, n_nodules=1)[2]
    assert np.array_equal(a.image.pixels, b.image.pixels) and np.array_equal(a.mask, b.mask)
    assert a.params["nodules"][0]["diameter_mm"] == 12.0


def test_a_real_crop_is_pasted_into_the_lungs_without_its_square():
    from scipy import ndimage

    base = make_one("lung_detection", seed=0, index=5, size=192, n_nodules=0)
    yy, xx = np.mgrid[:50, :50]
    union = ((yy - 25) ** 2 + (xx - 25) ** 2 <= 64).astype(np.uint8)  # a 16-pixel disc
    crop = np.where(union, 250, 20).astype(np.uint8)
    crop[:5] = 200  # bright chest wall along one edge: beyond the rim, never pasted
    hu, mask, pasted = composite(base, [(crop, union)], np.random.default_rng(0))
    assert len(pasted) == 1 and mask.any()
    boxes, _ = truth_boxes(mask)
    assert tuple(boxes[0].astype(int)) == tuple(pasted[0]["box"])
    lungs = base.image.pixels < -600
    assert lungs[mask > 0].mean() > 0.8  # inside aerated lung
    assert hu[mask > 0].mean() > -300  # the bright nodule came along
    changed = hu != base.image.pixels
    distance = ndimage.distance_transform_edt(mask == 0)
    assert distance[changed].max() <= 4  # the nodule and a thin rim (about 2 mm, feathered), not the square crop
    with pytest.raises(MedlearnInputError):
        composite(make_one("lung_detection", seed=0, index=1, size=SIZE, n_nodules=1), [(crop, union)],
                  np.random.default_rng(0))


def test_lidc_slices_are_split_by_patient(mirror):
    from medlearn.data.sources import get_source

    source = get_source("lidc_crops")
    train = source.load("lung_detection", split="train", limit=4)
    test = source.load("lung_detection", split="test", limit=4)
    assert train and test
    assert not {s.meta["patient"] for s in train} & {s.meta["patient"] for s in test}
    positives = [s for s in train if s.meta["nodules"]]
    assert positives and all(s.mask.any() for s in positives)
    assert any(not s.mask.any() for s in train + test)  # a slice without nodules per patient
    assert train[0].image.modality == "CT" and train[0].label is None
