"""CHASE_DB1: both layouts, masks binarised, the derived copy reduced 3x, split by child.

Tiny photographs written to ``tmp_path`` (the original layout, then the mirror's); the real
mirror is checked when MEDLEARN_MIRROR is set (skipped otherwise).
"""

import numpy as np
import pytest

from medlearn.data.sources import get_source
from medlearn.data.sources.chase import ChaseSource, binarise, reduce_box, reduction
from medlearn.errors import DatasetUnavailableError, MedlearnInputError


def _photo(seed: int, shape=(24, 26)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(30, 220, (*shape, 3)).astype(np.uint8)


def _vessels(shape=(24, 26), value=1) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[8:11, 2:20] = value
    return mask


def _original(root, png, children=("01", "02", "03")):
    for child in children:
        for eye in "LR":
            stem = f"Image_{child}{eye}"
            png(root / f"{stem}.jpg", _photo(int(child)))  # a JPEG, as the release's photographs are
            png(root / f"{stem}_1stHO.png", _vessels(value=1))  # 0/1 masks, as the release has them
            png(root / f"{stem}_2ndHO.png", _vessels(value=255) * 0)  # a different, empty second observer
    return root


def test_original_layout_first_observer_and_split_by_child(tmp_path, png, no_mirror):
    source = ChaseSource(root=_original(tmp_path, png))
    every = source.load("retina_vessels")
    assert [s.id for s in sorted(every, key=lambda s: s.id)][:2] == ["Image_01L", "Image_01R"]
    assert len(every) == 6
    first = every[0]
    assert first.image.is_rgb and first.image.modality == "OP" and not first.image.spacing_known
    assert first.mask.dtype == np.uint8 and set(np.unique(first.mask)) == {0, 1}
    assert first.mask.sum() == 3 * 18
    assert first.meta["observer"] == "first" and first.meta["patient"].startswith("child")
    assert "note" not in first.meta  # full size already: nothing reduced
    parts = {split: source.load("retina_vessels", split) for split in ("train", "val", "test")}
    assert sorted(s.id for p in parts.values() for s in p) == sorted(s.id for s in every)
    children = [{s.meta["patient"] for s in p} for p in parts.values()]
    assert sum(len(c) for c in children) == 3  # each child (both eyes) on one side only


def test_mirror_layout_second_observer_and_noisy_masks(tmp_path, png, no_mirror):
    for eye in "LR":
        png(tmp_path / "images" / f"Image_04{eye}.jpg", _photo(4))
        noisy = _vessels(value=250)
        noisy[0, 0] = 40  # JPEG ringing well below half: background
        png(tmp_path / "masks_2ndHO" / f"Image_04{eye}.png", noisy)
    png(tmp_path / "images" / "Image_05L.jpg", _photo(5))  # no mask: not a sample
    samples = ChaseSource(root=tmp_path).load("retina_vessels")
    assert sorted(s.id for s in samples) == ["Image_04L", "Image_04R"]
    assert all(s.meta["observer"] == "second" and s.mask.sum() == 3 * 18 for s in samples)
    assert all(s.mask[0, 0] == 0 for s in samples)


def test_reduction_of_the_enlarged_copy():
    assert reduction((2880, 2997, 3)) == 3 and reduction((960, 999)) == 1 and reduction((2880, 2990)) == 1
    block = np.kron(np.array([[0, 255], [255, 0]], np.uint8), np.ones((3, 3), np.uint8))
    assert np.array_equal(reduce_box(block, 3), np.array([[0, 255], [255, 0]], np.uint8))
    assert reduce_box(np.dstack([block] * 3), 3).shape == (2, 2, 3)
    assert np.array_equal(binarise(np.array([[0, 1], [1, 0]])), [[0, 1], [1, 0]])
    assert not binarise(np.zeros((2, 2))).any()


def test_bad_requests_and_missing_data(tmp_path, png, no_mirror):
    source = ChaseSource(root=_original(tmp_path, png, children=("01",)))
    with pytest.raises(MedlearnInputError):
        source.load("retina")  # the grading case has no vessel masks
    with pytest.raises(MedlearnInputError):
        source.load("retina_vessels", size=3)  # no options
    png(tmp_path / "Image_01L_1stHO.png", np.zeros((5, 5), np.uint8))  # a mask of the wrong size
    with pytest.raises(MedlearnInputError, match="must match"):
        ChaseSource(root=tmp_path).load("retina_vessels")
    with pytest.raises(DatasetUnavailableError, match="fetch chase_db1"):
        ChaseSource(root=tmp_path / "nowhere").load("retina_vessels")


@pytest.mark.mirror
def test_mirror_copy_reduced_to_the_original_size(mirror):
    source = get_source("chase_db1")
    rows = source.entries(source.root())
    assert len(rows) == 10 and {r["child"] for r in rows} == {f"0{k}" for k in range(1, 6)}
    samples = source.load("retina_vessels", limit=3)  # reading a 2997 x 2880 JPEG takes seconds here
    for s in samples:
        assert s.image.spatial_shape == (960, 999) and s.mask.shape == (960, 999)
        assert 0.05 < s.mask.mean() < 0.08 and "reduced 3x" in s.meta["note"]  # vessels 5.6-7.5 % (SOURCE.md)
