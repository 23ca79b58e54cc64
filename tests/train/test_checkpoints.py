"""Checkpoint round trips, atomic writes, damaged and missing files."""

import json
import os

import pytest
import torch

from medlearn.errors import MedlearnInputError, ModelUnavailableError
from medlearn.train import checkpoints as C
from train_helpers import TinyClassifier, build

META = {"name": "tiny", "in_channels": 1, "num_classes": 2, "spatial_dims": 2, "width": 4, "input_size": 8,
        "case": "breast", "source": "phantoms", "metrics": {"auc": 0.5}}


def test_round_trip_with_sidecar(tmp_path):
    model = TinyClassifier()
    path = C.save_checkpoint(model, META, tmp_path / "a" / "m.safetensors")
    loaded, meta = C.load_checkpoint(path, builder=build)
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(loaded(x), model.eval()(x))
    assert meta == META and json.loads(path.with_suffix(".json").read_text()) == META
    assert not loaded.training


def test_registry_model_round_trip(tmp_path):
    from medlearn.models import get_model

    meta = {**META, "name": "unet", "num_classes": 3, "input_size": 16}
    model = get_model("unet", in_channels=1, num_classes=3, width=4, input_size=16)
    path = C.save_checkpoint(model, meta, tmp_path / "unet.safetensors")
    loaded, _ = C.load_checkpoint(path)
    x = torch.rand(1, 1, 16, 16)
    torch.testing.assert_close(loaded(x), model.eval()(x))


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = C.save_checkpoint(TinyClassifier(), META, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        C.save_checkpoint(TinyClassifier(width=8), META, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_damaged_missing_and_mismatched(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(MedlearnInputError, match="damaged"):
        C.load_checkpoint(bad, builder=build)
    with pytest.raises(ModelUnavailableError):
        C.load_checkpoint(tmp_path / "none.safetensors", builder=build)
    path = C.save_checkpoint(TinyClassifier(width=8), META, tmp_path / "m.safetensors")
    with pytest.raises(MedlearnInputError, match="does not fit"):
        C.load_checkpoint(path, builder=build)  # meta says width 4, weights are width 8


def test_resume_state_is_loaded_without_pickle(tmp_path):
    path = tmp_path / "m.resume.pt"
    C.save_resume_state({"epoch": 3, "model": {"w": torch.ones(2)}, "history": [{"auc": 0.5}]}, path)
    state = C.load_resume_state(path)
    assert state["epoch"] == 3 and torch.equal(state["model"]["w"], torch.ones(2))
    torch.save({"evil": object()}, path)  # arbitrary objects are refused by weights_only
    with pytest.raises(MedlearnInputError):
        C.load_resume_state(path)


def test_paths_are_keyed_by_config():
    a = C.checkpoint_path("/r", "lung", "resnet18", "phantoms", {"epochs": 5})
    b = C.checkpoint_path("/r", "lung", "resnet18", "phantoms", {"epochs": 6})
    assert a != b and a.parent == b.parent and str(a).startswith("/r/lung/resnet18/phantoms-")
    assert C.resume_path(a).name.endswith(".resume.pt")
