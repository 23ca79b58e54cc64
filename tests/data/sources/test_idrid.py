"""IDRiD hard exudates: layout, downsampling, mask binarisation, a missing mask, the optic disc,
each photograph its own patient; and the mirror's fifteen photographs (skipped without it)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medlearn.data.sources import get_source, list_sources
from medlearn.data.sources.idrid import EXUDATES, IMAGES, OPTIC_DISC, SEGMENTATION, TRUTHS, IdridSource
from medlearn.errors import DatasetUnavailableError, MedlearnInputError

TRAIN = "a. Training Set"


def _layout(root, n: int = 3, size=(64, 48)):
    """A tiny IDRiD: ``n`` photographs; IDRiD_01's mask a JPEG, IDRiD_02's a TIFF, IDRiD_03 none."""
    w, h = size
    images = root / SEGMENTATION / IMAGES / TRAIN
    truths = root / SEGMENTATION / TRUTHS / TRAIN
    images.mkdir(parents=True)
    (truths / EXUDATES).mkdir(parents=True)
    (truths / OPTIC_DISC).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(1, n + 1):
        photo = np.zeros((h, w, 3), np.uint8)
        photo[4:-4, 8:-8] = rng.integers(60, 200, (h - 8, w - 16, 3))
        Image.fromarray(photo).save(images / f"IDRiD_{k:02d}.jpg", quality=95)
        lesion = np.zeros((h, w, 3), np.uint8)
        lesion[8:16, 8:16, 0] = 255  # two whole 4x4 blocks wide: kept
        lesion[24:26, 24:26, 0] = 255  # a quarter of one block: dropped at factor 4
        if k == 1:
            Image.fromarray(lesion).save(truths / EXUDATES / f"IDRiD_{k:02d}_EX.jpg", quality=100)
        elif k == 2:
            Image.fromarray(lesion).save(truths / EXUDATES / f"IDRiD_{k:02d}_EX.tif")
        disc = np.zeros((h, w, 3), np.uint8)
        disc[16:32, 40:56, 0] = 254
        Image.fromarray(disc).save(truths / OPTIC_DISC / f"IDRiD_{k:02d}_OD.tif")
    (images / "notes.txt").write_text("not a photograph")
    return root


def test_reads_downsampled_with_binarised_masks_and_an_empty_one(tmp_path):
    src = IdridSource(_layout(tmp_path / "idrid"))
    samples = src.load("retina_lesions")
    assert [s.id for s in samples] == ["IDRiD_01", "IDRiD_02", "IDRiD_03"]
    for s in samples[:2]:
        assert s.image.pixels.shape == (12, 16, 3) and s.image.pixels.dtype == np.uint8
        assert s.image.modality == "OP" and not s.image.spacing_known
        assert s.mask.shape == (12, 16) and s.mask.dtype == np.uint8
        assert s.mask[2:4, 2:4].all() and s.mask.sum() == 4  # the 2-pixel speck is under half a block
        assert s.meta["patient"] == s.id and "own patient" in s.meta["patient_note"]
        assert s.meta["lesion_pixels"] == 4 and s.label is None
    missing = samples[2]
    assert not missing.mask.any() and "no mask file" in missing.meta["exudate_mask"]
    disc = src.optic_disc(samples[0])
    assert disc.shape == (12, 16) and disc[4:8, 10:14].all() and disc.sum() == 16
    whole = src.load("retina_lesions", factor=1)[0]
    assert whole.image.pixels.shape == (48, 64, 3) and whole.mask.sum() == 64 + 4
    photo = np.asarray(Image.open(tmp_path / "idrid" / SEGMENTATION / IMAGES / TRAIN / "IDRiD_01.jpg").convert("RGB"))
    block = photo[:48, :64].reshape(12, 4, 16, 4, 3).mean((1, 3))
    assert np.abs(samples[0].image.pixels.astype(float) - block).mean() < 3  # the decoder's scaling = block means


def test_splits_partition_by_image_and_bad_requests_are_refused(tmp_path):
    src = IdridSource(_layout(tmp_path / "idrid", n=6))
    parts = {s: [x.id for x in src.load("retina_lesions", s)] for s in ("train", "val", "test")}
    assert sorted(sum(parts.values(), [])) == [f"IDRiD_{k:02d}" for k in range(1, 7)]
    assert len(src.load("retina_lesions", limit=2)) == 2
    with pytest.raises(MedlearnInputError, match="factor"):
        src.load("retina_lesions", factor=3)
    with pytest.raises(MedlearnInputError, match="does not take"):
        src.load("retina_lesions", size=64)
    with pytest.raises(MedlearnInputError):
        src.load("retina")  # the grading case has no exudate masks
    with pytest.raises(DatasetUnavailableError):
        IdridSource(tmp_path / "empty").load("retina_lesions")


def test_registered_for_the_lesions_study_only():
    assert get_source("idrid").cases == ("retina_lesions",)
    assert "idrid" in [s.name for s in list_sources("retina_lesions")]
    assert "idrid" not in [s.name for s in list_sources("retina")]


@pytest.mark.mirror
def test_the_mirror_holds_fifteen_photographs_with_exudates(mirror):
    src = get_source("idrid")
    samples = src.load("retina_lesions")
    assert len(samples) == 15 and len({s.meta["patient"] for s in samples}) == 15
    for s in samples:
        assert s.image.pixels.shape == (712, 1072, 3) and s.mask.shape == (712, 1072)
        assert 0 < s.mask.mean() < 0.08  # SOURCE.md: 0 to about 7 % of the image
        disc = src.optic_disc(s)
        assert 0.005 < disc.mean() < 0.03 and not (disc & (s.mask > 0)).all()
    heaviest = max(samples, key=lambda s: s.mask.mean())
    assert heaviest.id == "IDRiD_10"  # SOURCE.md: IDRiD_10 is the heaviest
