"""The best data wins by default: a case's real, labelled source when it is here."""

import numpy as np
import pytest
from PIL import Image

from medlearn.cases import get_case
from medlearn.data.sources.choice import default_source, describe_source


def test_phantoms_when_no_real_data_is_here(monkeypatch):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)
    for key in ("retina", "breast", "lung", "hippocampus", "heart", "gastric"):
        assert default_source(get_case(key)) == "phantoms"
    assert describe_source("phantoms") == "synthetic phantoms"


def test_an_imported_folder_counts_as_real_data(monkeypatch, tmp_path):
    from medlearn.data.sources import get_source

    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)
    for cls in ("benign_or_normal", "malignant"):
        for i in range(2):
            path = tmp_path / "in" / cls / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.random.default_rng(i).integers(0, 255, (20, 20)).astype(np.uint8)).save(path)
    get_source("folder").fetch(from_dir=tmp_path / "in", case="breast")
    assert default_source(get_case("breast")) == "folder"
    assert default_source(get_case("lung")) == "phantoms"  # imported for breast only


@pytest.mark.mirror
def test_the_mirror_gives_each_case_its_real_set(mirror):
    expected = {"retina": "retinamnist", "breast": "busi", "lung": "lidc_crops", "hippocampus": "msd_hippocampus",
                "heart": "sunnybrook", "gastric": "phantoms"}  # no gastric set may be mirrored
    assert {key: default_source(get_case(key)) for key in expected} == expected
    assert describe_source("busi") == "real images (BUSI breast ultrasound)"
