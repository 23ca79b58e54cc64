"""The real-data mirror loads with the right counts, shapes, spacings and labels.

Skipped (with the reason) when MEDLEARN_MIRROR is unset; see /work/shared/data/README.md.
"""

import csv
from collections import Counter

import numpy as np
import pydicom
import pytest

from medlearn.data.sources import get_source
from medlearn.data.sources.lidc import LidcCropsSource

pytestmark = pytest.mark.mirror


def _parts(name, case):
    src = get_source(name)
    return {s: src.load(case, s) for s in ("train", "val", "test", "all")}


def _assert_partition(parts, group):
    ids = [x.id for s in ("train", "val", "test") for x in parts[s]]
    assert sorted(ids) == sorted(x.id for x in parts["all"])
    groups = [{group(x) for x in parts[s]} for s in ("train", "val", "test")]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])


def test_busi_counts_labels_and_masks(mirror):
    samples = get_source("busi").load("breast")
    assert len(samples) == 95
    assert Counter(s.meta["class"] for s in samples) == {"benign": 38, "malignant": 38, "normal": 19}
    assert Counter(s.label for s in samples) == {0: 57, 1: 38}
    with open(mirror / "breast_ultrasound/busi/labels.csv", newline="") as fh:
        sizes = {r["image"][7:-4]: (r["height"], r["width"]) for r in csv.DictReader(fh)}
    for s in samples:
        assert s.image.modality == "US" and s.image.spatial_dims == 2 and s.mask.shape == s.image.spatial_shape
        if sizes[s.id][0]:
            assert s.image.spatial_shape == tuple(int(v) for v in sizes[s.id])
        assert (s.mask.max() == 0) == (s.meta["class"] == "normal")
    # grey stored as RGB is read as grey; the few with coloured annotations stay colour (a grey
    # model takes their luminance, in training and prediction alike)
    colour = [s.id for s in samples if s.image.is_rgb]
    assert len(colour) < len(samples) // 10
    assert get_source("busi").availability() == "mirror"
    assert len(get_source("busi").load("breast", limit=5)) == 5


def test_busi_split_is_a_partition(mirror):
    source = get_source("busi")
    parts = {s: [x.id for x in source.load("breast", s)] for s in ("train", "val", "test")}
    every = sorted(e[0] for e in source.entries(source.root()))
    assert sorted(i for ids in parts.values() for i in ids) == every
    assert 0.55 < len(parts["train"]) / len(every) < 0.85 and parts["val"] and parts["test"]


def test_lidc_labels_exclude_indeterminate_by_default(mirror):
    source = get_source("lidc_crops")
    assert len(source.rows(source.root())) == 54
    samples = source.load("lung")
    assert len(samples) == 48 and Counter(s.label for s in samples) == {0: 29, 1: 19}
    for s in samples:
        assert s.image.shape == (50, 50) and s.mask.shape == (50, 50) and s.mask.any()
        assert (s.label == 1) == (s.meta["malignancy_mean"] > 3) and s.meta["diameter_mm"] > 0
    every = LidcCropsSource(include_indeterminate=True).load("lung")
    assert len(every) == 54 and sum(s.label is None for s in every) == 6


def test_lidc_split_is_by_patient(mirror):
    _assert_partition(_parts("lidc_crops", "lung"), group=lambda s: s.meta["patient"])


def test_msd_hippocampus_volumes_and_labels(mirror):
    samples = get_source("msd_hippocampus").load("hippocampus")
    assert len(samples) == 45
    values = set()
    for s in samples:
        assert s.image.spatial_dims == 3 and s.mask.shape == s.image.spatial_shape and s.label is None
        assert s.mask.dtype == np.uint8 and all(abs(v - 1.0) < 0.01 for v in s.image.spacing)
        assert 25 <= s.image.shape[0] <= 60
        values |= set(np.unique(s.mask).tolist())
    assert values == {0, 1, 2}


def test_sunnybrook_masks_at_ed_and_es(mirror):
    samples = get_source("sunnybrook").load("heart")
    patients = {s.meta["patient"] for s in samples}
    assert len(patients) == 4 and len(samples) == 74
    for patient in patients:
        mine = [s for s in samples if s.meta["patient"] == patient]
        ed = [s for s in mine if s.meta["phase"] == "ED"]
        es = [s for s in mine if s.meta["phase"] == "ES"]
        assert ed and es and len(ed) == len(es)
        assert all((s.mask == 2).any() for s in ed) and not any((s.mask == 2).any() for s in es)
        assert sum((s.mask == 1).sum() for s in ed) > sum((s.mask == 1).sum() for s in es)
    for s in samples:
        assert s.image.shape == (256, 256) and s.mask.shape == (256, 256) and (s.mask == 1).any()
        header = pydicom.dcmread(mirror / "cardiac_lv_mri/sunnybrook/dicoms" / s.meta["patient"]
                                 / f"{s.meta['image_number']}.dcm", stop_before_pixels=True)
        assert s.image.spacing == pytest.approx(tuple(float(v) for v in header.PixelSpacing))
        assert s.meta["slice_thickness_mm"] == pytest.approx(float(header.SliceThickness))
    # The README's 1.367 mm holds for three patients; SCD0000301 was scanned at 1.2891 mm, 8 mm slices.
    spacing = {s.meta["patient"]: round(s.image.spacing[0], 3) for s in samples}
    assert spacing == {"SCD0000101": 1.367, "SCD0000201": 1.367, "SCD0000301": 1.289, "SCD0000401": 1.367}


def test_sunnybrook_split_is_by_patient(mirror):
    _assert_partition(_parts("sunnybrook", "heart"), group=lambda s: s.meta["patient"])
