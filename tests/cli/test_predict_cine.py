"""``python -m medlearn predict heart CINE``: EDV, ESV, SV, EF and the phases used.

The model is a fresh (untrained) U-Net run through the real predictor; its masks are then
replaced by the exact labels of the synthetic frames, so the printed numbers are known.
"""

import io
import json
import zipfile

import nibabel as nib
import numpy as np
import pytest

from cine_dicom import SIDES, TRIGGERS, cine_files, expected, write
from medlearn.cli import main
from medlearn.models import get_model
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta

KW = dict(in_channels=1, num_classes=3, spatial_dims=2, width=8, input_size=32)


@pytest.fixture
def heart_checkpoint(tmp_path):
    meta = untrained_meta("heart", "unet", width=KW["width"], input_size=KW["input_size"])
    return str(save_checkpoint(get_model("unet", **KW), meta, tmp_path / "heart.safetensors"))


@pytest.fixture
def folder(tmp_path):
    write(tmp_path / "cine", cine_files())
    return tmp_path / "cine"


def test_text_answer_lists_volumes_and_phases(heart_checkpoint, exact_masks, folder, tmp_path, capsys):
    want = expected()
    code = main(["predict", "heart", str(folder), "--checkpoint", heart_checkpoint, "--out", str(tmp_path / "o")])
    text = capsys.readouterr().out
    assert code == 0, text
    assert exact_masks == [None] * 4  # every phase once, no heat map
    assert "heart: cine of 4 phases at 3 slice positions  (unet" in text
    assert f"EDV (ml)                 {want['edv']:.1f}" in text
    assert f"ESV (ml)                 {want['esv']:.1f}" in text
    assert f"stroke volume (ml)       {want['sv']:.1f}" in text
    assert f"EF (%)                   {want['ef']:.1f}" in text
    assert "end-diastole: phase 1 (largest LV cavity volume of the 4 phases" in text
    assert "end-systole:  phase 3 (smallest LV cavity volume" in text
    assert f"      1           300  {want['cavity'][1]:>14.1f}  ED" in text
    assert "note: SliceThickness is 8.00 mm but the slices are 10.00 mm apart" in text
    assert "For teaching, not for clinical use." in text


def test_json_has_measurements_phases_and_masks(heart_checkpoint, exact_masks, folder, tmp_path, capsys):
    want = expected()
    code = main(["predict", "heart", str(folder), "--checkpoint", heart_checkpoint, "--out", str(tmp_path / "o"),
                 "--json"])
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert row["prediction"] == "cine" and row["arch"] == "unet" and row["case"] == "heart"
    m = row["measurements"]
    assert m["edv_ml"] == pytest.approx(want["edv"], abs=1e-3) and m["ef_percent"] == pytest.approx(want["ef"], abs=1e-3)
    assert m["esv_ml"] == pytest.approx(want["esv"], abs=1e-3)
    assert m["stroke_volume_ml"] == pytest.approx(want["sv"], abs=1e-3)
    assert m["myocardial_mass_g"] == pytest.approx(want["mass"], abs=1e-3)
    assert row["ed_phase"] == 1 and row["es_phase"] == 3 and row["ed_trigger_time_ms"] == TRIGGERS[1]
    assert [p["lv_cavity_volume_ml"] for p in row["phases"]] == pytest.approx(want["cavity"], abs=1e-3)
    assert row["cine"]["phases"] == 4 and row["cine"]["positions_mm"] == [0.0, 10.0, 20.0]
    ed = np.asarray(nib.load(row["ed_mask_path"]).dataobj)
    es = np.asarray(nib.load(row["es_mask_path"]).dataobj)
    assert (ed == 1).sum() == sum(s * s for s in SIDES[1]) and (es == 1).sum() == sum(s * s for s in SIDES[3])
    assert not any("Volumes of this one phase" in n for n in row["notes"])  # per-phase notes superseded


def test_phases_picked_on_the_command_line(heart_checkpoint, exact_masks, folder, capsys):
    want = expected()
    code = main(["predict", "heart", str(folder), "--checkpoint", heart_checkpoint, "--ed-phase", "0",
                 "--es-phase", "2", "--json"])
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["ed_phase"], row["es_phase"]) == (0, 2)
    assert row["ed_reason"].startswith("chosen by the user") and row["es_reason"].startswith("chosen by the user")
    c = want["cavity"]
    assert row["ef_percent"] == pytest.approx(100 * (c[0] - c[2]) / c[0], abs=1e-3)


def test_zip_of_a_cine(heart_checkpoint, exact_masks, tmp_path, capsys):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in cine_files():
            zf.writestr(name, data)
    (tmp_path / "cine.zip").write_bytes(buf.getvalue())
    assert main(["predict", "heart", str(tmp_path / "cine.zip"), "--checkpoint", heart_checkpoint, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ef_percent"] == pytest.approx(expected()["ef"], abs=1e-3)


def test_a_single_phase_series_keeps_the_single_volume_answer(heart_checkpoint, tmp_path, capsys):
    write(tmp_path / "one", cine_files(sides=[SIDES[0]], triggers=[TRIGGERS[0]]))
    code = main(["predict", "heart", str(tmp_path / "one"), "--checkpoint", heart_checkpoint, "--explain", "none"])
    text = capsys.readouterr().out
    assert code == 0 and "heart: segmentation" in text and "EDV (ml)" not in text
    assert "lv_cavity_volume_ml" in text


def test_picking_phases_of_a_single_phase_series_is_an_error(heart_checkpoint, tmp_path, capsys):
    write(tmp_path / "one", cine_files(sides=[SIDES[0]], triggers=[TRIGGERS[0]]))
    code = main(["predict", "heart", str(tmp_path / "one"), "--checkpoint", heart_checkpoint, "--ed-phase", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "EF needs at least end-diastole and end-systole" in err


def test_phase_options_outside_the_heart_case_are_an_error(folder, capsys):
    assert main(["predict", "breast", str(folder), "--ed-phase", "0"]) == 2
    assert "measures no ejection fraction" in capsys.readouterr().err
