"""BUSI in its original release layout and in the mirror's CSV layout, on tiny files."""

import numpy as np
import pytest

from medlearn.data.sources import get_source
from medlearn.data.sources.busi import BusiSource
from medlearn.errors import DatasetUnavailableError, MedlearnInputError


def _lesion(shape, box):
    m = np.zeros(shape, np.uint8)
    m[box[0]:box[1], box[2]:box[3]] = 255
    return m


@pytest.fixture
def original(tmp_path, png):
    root = tmp_path / "Dataset_BUSI_with_GT"
    grey = np.tile(np.arange(40, dtype=np.uint8), (30, 1))
    for cls, n in (("benign", 3), ("malignant", 2), ("normal", 2)):
        for i in range(1, n + 1):
            png(root / cls / f"{cls} ({i}).png", np.stack([grey] * 3, -1))  # grey stored as RGB
            box = (0, 0, 0, 0) if cls == "normal" else (5, 10, 5, 10)
            png(root / cls / f"{cls} ({i})_mask.png", _lesion((30, 40), box))
    png(root / "benign" / "benign (1)_mask_1.png", _lesion((30, 40), (20, 25, 20, 30)))
    return tmp_path


def test_original_layout_labels_and_united_masks(original):
    samples = BusiSource(original).load("breast")
    assert len(samples) == 7
    assert [s.label for s in samples].count(0) == 5 and [s.label for s in samples].count(1) == 2
    first = next(s for s in samples if s.id == "benign (1)")
    assert first.image.shape == (30, 40) and first.image.modality == "US"
    assert first.mask.sum() == 25 + 50 and set(np.unique(first.mask)) == {0, 1}
    assert all(s.mask.sum() == 0 for s in samples if s.meta["class"] == "normal")


def test_csv_layout(tmp_path, png):
    png(tmp_path / "images" / "malignant (4).png", np.full((20, 20), 90))
    png(tmp_path / "masks" / "malignant (4).png", _lesion((20, 20), (2, 6, 2, 6)))
    rows = "image,mask,label\nimages/malignant (4).png,masks/malignant (4).png,malignant\n"
    (tmp_path / "labels.csv").write_text(rows)
    [sample] = BusiSource(tmp_path).load("breast")
    assert sample.label == 1 and sample.mask.sum() == 16 and sample.meta["class"] == "malignant"


def test_fetch_from_imports_into_the_data_home(original, no_mirror, _isolated_home):
    source = get_source("busi")
    assert not source.is_available()
    with pytest.raises(DatasetUnavailableError, match="--from"):
        source.load("breast")
    calls = []
    message = source.fetch(lambda d, t: calls.append((d, t)), from_dir=original)
    assert "imported" in message and source.availability() == "data home"
    assert calls[-1][0] == calls[-1][1] > 0
    assert len(source.load("breast")) == 7


def test_fetch_from_a_wrong_folder_is_an_input_error(tmp_path, png):
    png(tmp_path / "cats" / "a.png", np.zeros((4, 4)))
    with pytest.raises(MedlearnInputError, match="does not look like"):
        get_source("busi").fetch(from_dir=tmp_path)
