"""``python -m medlearn info``: JSON on stdout, or one ``error:`` line and exit status 2."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image
from pydicom.data import get_testdata_file

from medlearn.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_png_json(tmp_path, capsys):
    Image.fromarray(np.full((6, 8), 9, np.uint8)).save(tmp_path / "a.png")
    assert main(["info", str(tmp_path / "a.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shape"] == [6, 8] and out["format"] == "png" and out["source"] == "a.png"


def test_4d_nifti_volume_option(tmp_path, capsys):
    data = np.stack([np.full((2, 3, 4), t, np.int16) for t in range(3)], axis=-1)
    (tmp_path / "f.nii.gz").write_bytes(gzip.compress(nib.Nifti1Image(data, np.eye(4)).to_bytes()))
    assert main(["info", str(tmp_path / "f.nii.gz"), "--volume", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["meta"]["volume_index"] == 2 and out["min"] == 2.0 and out["shape"] == [4, 3, 2]
    assert out["notes"] == ["4D file: showing volume 2 of 3 (numbered from 0)"]  # the reading notes, in words


def test_folder_with_one_dicom(tmp_path, capsys):
    (tmp_path / "ct").mkdir()
    (tmp_path / "ct" / "slice").write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    assert main(["info", str(tmp_path / "ct")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["modality"] == "CT" and out["format"] == "dicom"


def test_bad_input_is_one_error_line(tmp_path):
    bad = tmp_path / "scan.png"
    bad.write_text("this is not a picture")
    done = subprocess.run([sys.executable, "-m", "medlearn", "info", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "wrong extension" in lines[0]
    assert "Traceback" not in done.stderr


def test_missing_file_and_empty_file(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.nii")]) == 2
    assert capsys.readouterr().err.startswith("error: No file at")
    (tmp_path / "empty.dcm").write_bytes(b"")
    assert main(["info", str(tmp_path / "empty.dcm")]) == 2
    assert "empty" in capsys.readouterr().err
