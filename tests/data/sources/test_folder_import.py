"""Generic folder import: class sub-folders, images/ + masks/, split folders, errors."""

import numpy as np
import pytest

from medlearn.data.sources import get_source
from medlearn.data.sources.folder import FolderSource
from medlearn.errors import DatasetUnavailableError, MedlearnInputError


def test_classification_folders_by_name_and_index(tmp_path, png):
    for i in range(3):
        png(tmp_path / "Benign or Normal" / f"b{i}.png", np.full((8, 8), 10 * i))
        png(tmp_path / "1" / f"m{i}.png", np.full((8, 8), 200))
    png(tmp_path / "1" / "m0_mask.png", np.zeros((8, 8)))  # masks beside images are not samples
    samples = FolderSource(tmp_path).load("breast")
    assert len(samples) == 6 and sorted(s.label for s in samples) == [0, 0, 0, 1, 1, 1]
    assert all(s.image.modality == "US" and s.mask is None for s in samples)
    assert {s.meta["split"] for s in samples} == {"hash"}
    parts = [FolderSource(tmp_path).load("breast", s) for s in ("train", "val", "test")]
    assert sorted(x.id for p in parts for x in p) == sorted(s.id for s in samples)


def test_unknown_class_folder_names_the_expected_ones(tmp_path, png):
    png(tmp_path / "cancer" / "a.png", np.zeros((8, 8)))
    with pytest.raises(MedlearnInputError, match="benign_or_normal"):
        FolderSource(tmp_path).load("breast")


def test_segmentation_images_and_masks_with_split_folders(tmp_path, png):
    for split, n in (("train", 2), ("val", 1)):
        for i in range(n):
            png(tmp_path / split / "images" / f"s{i}.png", np.full((16, 16), 100))
            mask = np.zeros((16, 16)); mask[4:8, 4:8] = 1; mask[8:10, 8:10] = 2
            png(tmp_path / split / "masks" / f"s{i}_mask.png", mask)
    source = FolderSource(tmp_path)
    train, val = source.load("heart", "train"), source.load("heart", "val")
    assert len(train) == 2 and len(val) == 1 and source.load("heart", "test") == []
    assert set(np.unique(train[0].mask)) == {0, 1, 2} and train[0].label is None
    assert train[0].image.modality == "MR"


def test_binary_255_masks_become_0_1_and_bad_values_are_refused(tmp_path, png):
    png(tmp_path / "images" / "a.png", np.full((6, 6, 3), 120))
    png(tmp_path / "masks" / "a.png", np.eye(6) * 255)
    [sample] = FolderSource(tmp_path).load("gastric")
    assert set(np.unique(sample.mask)) == {0, 1}
    png(tmp_path / "masks" / "a.png", np.eye(6) * 7)
    with pytest.raises(MedlearnInputError, match="0-1"):
        FolderSource(tmp_path).load("gastric")


def test_missing_mask_or_folders_are_input_errors(tmp_path, png):
    png(tmp_path / "images" / "a.png", np.zeros((6, 6)))
    with pytest.raises(MedlearnInputError, match="images/ and masks/"):
        FolderSource(tmp_path).load("heart")
    (tmp_path / "masks").mkdir()
    with pytest.raises(MedlearnInputError, match="No mask for a.png"):
        FolderSource(tmp_path).load("heart")


def test_fetch_folder_copies_into_the_data_home(tmp_path, png, _isolated_home):
    source = get_source("folder")
    with pytest.raises(DatasetUnavailableError, match="fetch folder"):
        source.load("retina")
    for grade in range(5):
        png(tmp_path / "in" / str(grade) / f"g{grade}.png", np.full((8, 8, 3), (30 * grade, 90, 200)))  # colour
    with pytest.raises(MedlearnInputError, match="--case"):
        source.fetch(from_dir=tmp_path / "in")
    assert "imported 5 images for retina" in source.fetch(from_dir=tmp_path / "in", case="retina")
    assert source.availability() == "data home (retina)"
    samples = source.load("retina")
    assert sorted(s.label for s in samples) == [0, 1, 2, 3, 4] and samples[0].image.is_rgb
