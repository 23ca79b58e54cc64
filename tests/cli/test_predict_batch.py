"""``predict CASE FOLDER|ZIP``: separate pictures are predicted file by file (JSON Lines or
one text line each, then a summary); one DICOM series stays one image."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from dicom_helpers import dicom_bytes
from medlearn.batch import batch_inputs
from medlearn.cli import main
from medlearn.errors import MedlearnInputError
from medlearn.train.recipes import train_recipe
from medlearn.train.store import RunStore

ESCAPE_NAME = "evil\x1b[2Jname.png"


@pytest.fixture(scope="module")
def lung_checkpoint(tmp_path_factory):
    """A tiny 2D lung classifier with a model card (trained once for this module)."""
    root = tmp_path_factory.mktemp("lung_model")
    record = train_recipe("lung", "resnet18", epochs=1, n_train=8, n_val=4, width=4, batch_size=4,
                          store=RunStore(root / "runs.sqlite"), checkpoint_root=root)
    return record.checkpoint


def _png(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (32, 32)).astype(np.uint8)).save(path)
    return path


def _pictures(folder):
    _png(folder / "a.png", 1)
    _png(folder / "b.png", 2)
    (folder / "broken.png").write_bytes(b"not a png at all")
    _png(folder / ESCAPE_NAME, 3)
    return folder


def _series(n=3, uid="1.2.3.4.5", shape=(32, 32), seed=0):
    rng = np.random.default_rng(seed)
    return [dicom_bytes(rng.integers(-900, 200, shape).astype(np.int16), position=(0, 0, 1.75 * z),
                        instance=z + 1, spacing=(1.4, 1.4), series_uid=uid) for z in range(n)]


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_folder_of_pictures_gives_one_json_line_per_file(lung_checkpoint, tmp_path, capsys):
    folder = _pictures(tmp_path / "images")
    out = tmp_path / "out"
    code = main(["predict", "lung", str(folder), "--checkpoint", lung_checkpoint, "--json",
                 "--out", str(out)])
    assert code == 1  # one file failed, the others were predicted
    rows = {row["file"]: row for row in _lines(capsys.readouterr().out)}
    assert set(rows) == {"a.png", "b.png", "broken.png", ESCAPE_NAME}
    assert set(rows["broken.png"]) == {"file", "error"} and "broken.png" in rows["broken.png"]["error"]
    for name in ("a.png", "b.png", ESCAPE_NAME):
        row = rows[name]
        assert row["prediction"] in ("benign", "malignant") and row["arch"] == "resnet18"
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert row["explanation_path"].startswith(str(out)) and "notes" in row and "measurements" in row


def test_text_output_has_a_plain_line_per_file_and_a_summary(lung_checkpoint, tmp_path, capsys):
    folder = _pictures(tmp_path / "images")
    code = main(["predict", "lung", str(folder), "--checkpoint", lung_checkpoint, "--explain", "none"])
    assert code == 1
    text = capsys.readouterr().out
    assert "\x1b" not in text  # a file name cannot drive the terminal
    lines = text.splitlines()
    assert lines[0].startswith("a.png: ") and lines[1].startswith("b.png: ")
    assert lines[2].startswith("broken.png: error: ")
    assert lines[3].startswith("evil\\x1b[2Jname.png: ")
    assert lines[4].startswith("4 file(s): 3 predicted (") and "1 could not be read" in lines[4]
    assert "For teaching, not for clinical use." in text


def test_a_zip_of_pictures_is_a_batch_too(lung_checkpoint, tmp_path, capsys):
    archive = tmp_path / "pictures.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(_png(tmp_path / "x.png", 4), "x.png")
        zf.write(_png(tmp_path / "y.png", 5), "sub/y.png")
    assert main(["predict", "lung", str(archive), "--checkpoint", lung_checkpoint, "--json",
                 "--explain", "none", "--out", str(tmp_path / "out")]) == 0
    rows = _lines(capsys.readouterr().out)
    assert [r["file"] for r in rows] == ["x.png", "y.png"] and all("prediction" in r for r in rows)


def test_one_dicom_series_in_a_folder_or_zip_stays_one_image(lung_checkpoint, tmp_path, capsys):
    folder = tmp_path / "series"
    folder.mkdir()
    for z, data in enumerate(_series()):
        (folder / f"IM{z:04d}.dcm").write_bytes(data)
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    for source in (folder, archive):
        assert batch_inputs(source) is None
        assert main(["predict", "lung", str(source), "--checkpoint", lung_checkpoint, "--json",
                     "--explain", "none", "--out", str(tmp_path / "out")]) == 0
        row = json.loads(capsys.readouterr().out)  # one object, as for a single file
        assert "file" not in row and row["prediction"] in ("benign", "malignant")
        assert any("central slice" in note for note in row["notes"])  # the 3-slice volume, read whole


def test_dicom_files_of_different_series_are_predicted_one_series_at_a_time(lung_checkpoint, tmp_path,
                                                                            capsys):
    folder = tmp_path / "study"
    folder.mkdir()
    for z, data in enumerate(_series(uid="1.2.3.4.5")):
        (folder / f"a{z}.dcm").write_bytes(data)
    (folder / "single1.dcm").write_bytes(_series(1, uid="1.2.3.9", seed=1)[0])
    (folder / "single2.dcm").write_bytes(_series(1, uid="1.2.3.10", seed=2)[0])
    _png(folder / "photo.png", 6)
    inputs = batch_inputs(folder)
    assert [i.files for i in inputs] == [["a0.dcm", "a1.dcm", "a2.dcm"], ["photo.png"], ["single1.dcm"],
                                         ["single2.dcm"]]
    assert main(["predict", "lung", str(folder), "--checkpoint", lung_checkpoint, "--json",
                 "--explain", "none", "--out", str(tmp_path / "out")]) == 0
    rows = _lines(capsys.readouterr().out)
    assert len(rows) == 4 and rows[0]["files"] == ["a0.dcm", "a1.dcm", "a2.dcm"]
    assert all("prediction" in r for r in rows)


def test_same_file_stems_do_not_overwrite_each_other(lung_checkpoint, tmp_path, capsys):
    folder = tmp_path / "images"
    _png(folder / "scan.png", 7)
    pixels = np.random.default_rng(8).integers(0, 255, (32, 32)).astype(np.uint8)
    Image.fromarray(pixels).save(folder / "scan.jpg")
    assert main(["predict", "lung", str(folder), "--checkpoint", lung_checkpoint, "--json",
                 "--out", str(tmp_path / "out")]) == 0
    paths = [r["explanation_path"] for r in _lines(capsys.readouterr().out)]
    assert len(set(paths)) == 2 and all(p for p in paths)


def test_batch_inputs_reads_nothing_for_single_files_and_refuses_bad_paths(tmp_path):
    assert batch_inputs(_png(tmp_path / "one.png")) is None
    np.savez(tmp_path / "stack.npz", a=np.zeros((4, 4)))
    assert batch_inputs(tmp_path / "stack.npz") is None  # a zip of arrays is one file
    (tmp_path / "empty").mkdir()
    with pytest.raises(MedlearnInputError, match="holds no files"):
        batch_inputs(tmp_path / "empty")
    with pytest.raises(MedlearnInputError, match="No file or folder"):
        batch_inputs(tmp_path / "missing")


def test_bad_folder_or_missing_model_is_one_error_line(tmp_path, capsys):
    folder = _pictures(tmp_path / "images")
    assert main(["predict", "lung", str(folder)]) == 2  # no trained lung model in this data home
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert main(["predict", "lung", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith("error: No file or folder")


def test_a_checkpoint_of_another_case_stops_the_batch_once(lung_checkpoint, tmp_path, capsys):
    folder = _pictures(tmp_path / "images")
    assert main(["predict", "breast", str(folder), "--checkpoint", lung_checkpoint, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: This checkpoint was trained for case 'lung', not 'breast'.\n"
