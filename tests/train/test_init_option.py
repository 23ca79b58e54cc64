"""Starting weights (``init``) and the augmentation switch of ``train_recipe`` / ``make_plan``."""

import pytest
import torch
from safetensors.torch import load_file

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError
from medlearn.train.checkpoints import read_meta
from medlearn.train.plan import make_plan, resolve_init
from medlearn.train.recipes import recipe_checkpoint, train_recipe
from medlearn.train.store import RunStore

TINY = dict(epochs=1, n_train=6, n_val=2, input_size=32, width=4, batch_size=3)


def test_defaults_keep_old_plan_names():
    plan = make_plan(get_case("retina"), "resnet18", "phantoms")
    assert plan.init == "scratch" and plan.augment is True
    assert "init" not in plan.to_dict() and "augment" not in plan.to_dict()
    other = make_plan(get_case("retina"), "resnet18", "phantoms", init="medlearn:/x.safetensors", augment=False)
    assert other.to_dict()["init"] == "medlearn:/x.safetensors" and other.to_dict()["augment"] is False


@pytest.mark.parametrize("bad", ["imagenet21k", "medlearn:", "checkpoint.pt"])
def test_unknown_init_is_a_typed_error(bad):
    with pytest.raises(MedlearnInputError, match="starting weights"):
        make_plan(get_case("retina"), "resnet18", "phantoms", init=bad)


def test_missing_checkpoint_or_run_is_a_typed_error(tmp_path):
    with pytest.raises(MedlearnInputError, match="No MedLearn network checkpoint"):
        resolve_init(f"medlearn:{tmp_path / 'nothing.safetensors'}")
    with pytest.raises(MedlearnInputError, match="no run 99"):
        resolve_init("medlearn:99", RunStore(tmp_path / "runs.db"))


def test_warm_start_from_another_case_copies_tensors_and_records_source(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    breast = train_recipe("breast", "resnet18", store=store, checkpoint_root=tmp_path, **TINY)  # grey, 2 classes
    source = load_file(breast.checkpoint)
    warm = train_recipe("retina", "resnet18", store=store, checkpoint_root=tmp_path, init=f"medlearn:{breast.id}",
                        **{**TINY, "epochs": 1, "learning_rate": 1e-12})  # ~no update: the copy stays visible
    meta = read_meta(warm.checkpoint)
    assert meta["init"] == f"medlearn:{breast.checkpoint}" and meta["pretrained"] is False
    weights = meta["card"]["weights"]
    assert "Breast" in weights and "starting from MedLearn weights pre-trained on" in weights
    assert meta["medlearn_weights_detail"].endswith("tensors loaded")  # all but the new 5-grade head
    got = load_file(warm.checkpoint)
    key = next(k for k in source if k.endswith("conv2.weight"))
    assert torch.allclose(got[key], source[key], atol=1e-6)
    first = next(k for k in source if source[k].dim() == 4)  # grey first layer repeated over RGB
    assert got[first].shape[1] == 3 and torch.allclose(got[first][:, 0], source[first][:, 0] / 3, atol=1e-6)
    scratch = recipe_checkpoint("retina", "resnet18", root=tmp_path, **TINY)
    assert scratch != warm.checkpoint  # a warm start never overwrites the scratch run's checkpoint


def test_warm_start_needs_the_same_architecture(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    breast = train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, **TINY)
    with pytest.raises(MedlearnInputError, match="cannot start a 'resnet18'"):
        train_recipe("retina", "resnet18", store=store, checkpoint_root=tmp_path, init=f"medlearn:{breast.id}",
                     **TINY)


def test_augment_off_is_honoured(tmp_path, monkeypatch):
    import medlearn.train.recipes as recipes

    seen = []
    real = recipes.make_dataset
    monkeypatch.setattr(recipes, "make_dataset", lambda *a, **k: seen.append(k.get("augment")) or real(*a, **k))
    record = train_recipe("breast", "alexnet", store=RunStore(tmp_path / "runs.db"), checkpoint_root=tmp_path,
                          augment=False, **TINY)
    assert seen[0] is False and record.config["augment"] is False
