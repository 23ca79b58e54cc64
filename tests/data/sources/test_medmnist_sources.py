"""MedMNIST+ sources: facts from the installed package, downloads, label remapping."""

import hashlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest

from medlearn.data import home
from medlearn.data.sources import get_source
from medlearn.data.sources import medmnist_sources as mm
from medlearn.errors import DatasetUnavailableError, MedlearnInputError



def _npz(shape, labels):
    rng = np.random.default_rng(0)
    arrays = {}
    for part, ys in labels.items():
        arrays[f"{part}_images"] = rng.integers(0, 255, (len(ys), *shape), dtype=np.uint8)
        arrays[f"{part}_labels"] = np.asarray(ys, np.uint8).reshape(-1, 1)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _with_info(monkeypatch, flag, url, md5):
    info = {k: dict(v) for k, v in mm.medmnist_info().items()}
    info[flag].update({"url": url, "MD5": md5})
    monkeypatch.setattr(mm, "medmnist_info", lambda: info)


def test_info_is_read_without_importing_medmnist(tmp_path):
    code = ("import sys; from medlearn.data.sources.medmnist_sources import medmnist_info as f; i = f(); "
            "print(i['breastmnist']['MD5'], i['nodulemnist3d']['url_64'], 'medmnist' in sys.modules)")
    env = {**os.environ, "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    out = run.stdout
    md5, url, imported = out.split()
    assert md5 == "750601b1f35ba3300ea97c75c52ff8f6" and url.startswith("https://zenodo.org/")
    assert imported == "False" and not (tmp_path / ".medmnist").exists()


def test_sizes_and_bad_size():
    assert get_source("retinamnist").sizes() == (28, 64, 128, 224)
    assert get_source("nodulemnist3d").sizes() == (28, 64)
    with pytest.raises(MedlearnInputError, match="28, 64"):
        get_source("nodulemnist3d").fetch(size=128)


def test_not_downloaded_is_a_clear_error(no_mirror, monkeypatch, tmp_path):
    monkeypatch.setattr(home.Path, "home", lambda: tmp_path)  # hide a real ~/.medmnist
    source = get_source("breastmnist")
    assert not source.is_available()
    with pytest.raises(DatasetUnavailableError, match="fetch breastmnist"):
        source.load("breast")


def test_fetch_downloads_verifies_and_flips_breastmnist_labels(no_mirror, monkeypatch, tmp_path, http_server):
    monkeypatch.delenv("MEDLEARN_DOWNLOAD_BASE", raising=False)  # the official address, patched below
    monkeypatch.setattr(home.Path, "home", lambda: tmp_path)
    data = _npz((28, 28), {"train": [0, 1, 1], "val": [0], "test": [1, 1]})
    with http_server({"/breastmnist.npz": data}) as (url, _):
        _with_info(monkeypatch, "breastmnist", f"{url}/breastmnist.npz", hashlib.md5(data).hexdigest())
        calls = []
        get_source("breastmnist").fetch(lambda d, t: calls.append(d), size=28)
    assert calls[-1] == len(data)
    source = get_source("breastmnist")
    assert source.availability() == "data home 28px"
    train = source.load("breast", "train")
    assert [s.label for s in train] == [1, 0, 0] and train[0].meta["original_class"] == "malignant"
    assert train[0].image.modality == "US" and train[0].image.shape == (28, 28)
    assert len(source.load("breast")) == 6 and len(source.load("breast", limit=4)) == 4
    assert [s.meta["split"] for s in source.load("breast", limit=4)] == ["train"] * 3 + ["val"]


def test_offline_fetch_fails_fast(no_mirror, monkeypatch, tmp_path, closed_port):
    monkeypatch.setattr(home.Path, "home", lambda: tmp_path)
    _with_info(monkeypatch, "retinamnist", f"http://127.0.0.1:{closed_port}/r.npz", "0" * 32)
    with pytest.raises(DatasetUnavailableError, match="offline"):
        get_source("retinamnist").fetch(size=28)


def test_pathmnist_tumour_tiles_and_nodule_cubes(monkeypatch, tmp_path):
    folder = home.ensure_dir(home.dataset_dir("medmnist"))
    (folder / "pathmnist_64.npz").write_bytes(_npz((64, 64, 3), {"train": [8, 0, 7], "val": [], "test": [8]}))
    (folder / "nodulemnist3d.npz").write_bytes(_npz((28, 28, 28), {"train": [0, 1], "val": [1], "test": []}))
    tiles = get_source("pathmnist").load("gastric", "train")
    assert [s.label for s in tiles] == [1, 0, 0] and tiles[2].meta["tissue"] == "cancer-associated stroma"
    assert tiles[0].image.is_rgb and tiles[0].image.shape == (64, 64, 3) and tiles[0].mask is None
    with pytest.raises(MedlearnInputError, match="size"):
        get_source("pathmnist").load("gastric", colour=True)
    cubes = get_source("nodulemnist3d").load("lung")
    assert [s.label for s in cubes] == [0, 1, 1] and cubes[0].image.spatial_dims == 3


def test_fetch_from_a_folder_checks_the_md5(monkeypatch, tmp_path):
    data = _npz((28, 28, 3), {"train": [4], "val": [], "test": []})
    (tmp_path / "retinamnist.npz").write_bytes(data)
    with pytest.raises(MedlearnInputError, match="MD5"):
        get_source("retinamnist").fetch(size=28, from_dir=tmp_path)
    _with_info(monkeypatch, "retinamnist", "http://unused.invalid/", hashlib.md5(data).hexdigest())
    get_source("retinamnist").fetch(size=28, from_dir=tmp_path)
    assert get_source("retinamnist").load("retina")[0].label == 4
