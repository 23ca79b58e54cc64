"""``python -m medlearn datasets`` and ``fetch``: tables, JSON, imports, offline errors."""

import json
import socket

import numpy as np
from PIL import Image

from medlearn.cli import main
from medlearn.data.sources import list_sources
from medlearn.data.sources import medmnist_sources as mm


def test_datasets_json_lists_every_source(capsys):
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [s.name for s in list_sources()]
    assert {"name", "cases", "kind", "licence", "available"} <= set(rows[0])
    assert next(r for r in rows if r["name"] == "skimage_samples")["available"] == "package"


def test_datasets_table_filters_by_case(capsys):
    assert main(["datasets", "--case", "heart"]) == 0
    out = capsys.readouterr().out
    assert "sunnybrook" in out and "phantoms" in out and "busi" not in out and "available here" in out


def test_unknown_case_or_dataset_is_one_error_line(capsys):
    assert main(["datasets", "--case", "knee"]) == 2
    assert main(["fetch", "no_such_dataset"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "Traceback" not in err


def test_fetch_offline_is_an_error_line_and_exit_2(capsys, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    info = {k: dict(v) for k, v in mm.medmnist_info().items()}
    info["pathmnist"]["url_64"] = f"http://127.0.0.1:{port}/p.npz"
    monkeypatch.setattr(mm, "medmnist_info", lambda: info)
    assert main(["fetch", "pathmnist", "--size", "64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Cannot download") and "offline" in err


def test_fetch_folder_from_dir_imports(tmp_path, capsys):
    for cls in ("benign", "malignant"):
        (tmp_path / cls).mkdir()
        Image.fromarray(np.full((8, 8), 50, np.uint8)).save(tmp_path / cls / "a.png")
    assert main(["fetch", "folder", "--from", str(tmp_path), "--case", "lung"]) == 0
    assert "imported 2 images for lung" in capsys.readouterr().out
    assert main(["fetch", "busi", "--size", "64"]) == 2
    assert "does not take size" in capsys.readouterr().err
