import json

import numpy as np
import pytest
from PIL import Image

from medlearn.cli import main
from medlearn.models import get_model
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta

KW = dict(in_channels=1, num_classes=3, spatial_dims=2, width=8, input_size=32)


@pytest.fixture
def heart_checkpoint(tmp_path):
    meta = untrained_meta("heart", "unet", width=KW["width"], input_size=KW["input_size"])
    return save_checkpoint(get_model("unet", **KW), meta, tmp_path / "heart.safetensors")


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "slice.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 36)).astype(np.uint8)).save(path)
    return path


def test_predict_json_and_files(heart_checkpoint, png, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["predict", "heart", str(png), "--checkpoint", str(heart_checkpoint), "--out", str(out), "--json"])
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert row["case"] == "heart" and row["arch"] == "unet" and row["prediction"] == "segmentation"
    assert row["disclaimer"] == "For teaching, not for clinical use." and row["latency_ms"] > 0
    assert "probabilities" not in row and "lv_cavity_area_px2" in row["measurements"]  # a PNG: no spacing
    assert any("no pixel spacing" in n for n in row["notes"])
    mask = np.asarray(Image.open(row["mask_path"]))
    assert mask.shape == (40, 36) and mask.max() <= 2
    heat = np.asarray(Image.open(row["explanation_path"]))
    assert heat.shape == (40, 36, 3)


def test_predict_text_without_explanation(heart_checkpoint, png, capsys):
    assert main(["predict", "heart", str(png), "--checkpoint", str(heart_checkpoint), "--explain", "none"]) == 0
    text = capsys.readouterr().out
    assert "heart: segmentation" in text and "mask_path" in text and "explanation_path" not in text


def test_missing_model_exits_2_with_error_line(png, capsys):
    assert main(["predict", "breast", str(png), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "python -m medlearn prepare breast" in err


def test_bad_file_exits_2(heart_checkpoint, tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    assert main(["predict", "heart", str(bad), "--checkpoint", str(heart_checkpoint)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
