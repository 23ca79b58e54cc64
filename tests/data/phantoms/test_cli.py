"""``python -m medlearn phantom``: files, labels.csv and params.json that read back."""

import csv
import json

import numpy as np

from medlearn.cli import main
from medlearn.data.io import read_image


def _rows(out):
    with open(out / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_images_masks_labels_and_params(tmp_path):
    out = tmp_path / "breast"
    assert main(["phantom", "breast", "--n", "3", "--seed", "2", "--out", str(out), "--size", "32"]) == 0
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["breast_s2_0000", "breast_s2_0001", "breast_s2_0002"]
    params = json.loads((out / "params.json").read_text())
    for r in rows:
        img = read_image(out / r["file"])
        mask = read_image(out / r["mask"])
        assert img.pixels.shape == (32, 32) and mask.pixels.shape == (32, 32)
        assert int(r["label"]) == (params[r["id"]]["finding"] == "malignant")
        assert r["label_name"] in ("benign or normal", "malignant")
        assert set(np.unique(mask.pixels)) <= {0, 1}


def test_segmentation_case_has_no_label_and_fixed_params(tmp_path):
    out = tmp_path / "g"
    argv = ["phantom", "gastric", "--n", "1", "--out", str(out), "--size", "24", "--param", "tumour_fraction=1"]
    assert main(argv) == 0
    (row,) = _rows(out)
    assert row["label"] == "" and row["label_name"] == ""
    assert read_image(out / row["mask"]).pixels.min() == 1


def test_bad_input_is_one_error_line(tmp_path, capsys):
    assert main(["phantom", "retina", "--n", "1", "--out", str(tmp_path), "--param", "colour=red"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "valid ones" in err and "Traceback" not in err
    assert main(["phantom", "retina", "--n", "1", "--out", str(tmp_path), "--param", "grade"]) == 2
    assert main(["phantom", "nosuchcase", "--n", "1", "--out", str(tmp_path)]) == 2
