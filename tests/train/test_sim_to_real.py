"""Sim-to-real (``init="phantoms"``), class-balanced batches, stronger augmentation and
cross-validation folds: the recipe options of issue 11."""

import os
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError
from medlearn.train.checkpoints import read_meta
from medlearn.train.data import make_augmentation, split_items
from medlearn.train.plan import make_plan, parse_fold
from medlearn.train.recipes import train_recipe
from medlearn.train.store import RunStore
from medlearn.train.trainer import balanced_sampler

TINY = dict(epochs=1, n_train=6, n_val=2, input_size=32, width=4, batch_size=3)
mirror = pytest.mark.skipif(not os.environ.get("MEDLEARN_MIRROR"), reason="MEDLEARN_MIRROR is not set")


def test_phantom_pretraining_needs_real_data_and_a_network():
    with pytest.raises(MedlearnInputError, match="real source"):
        make_plan(get_case("breast"), "resnet18", "phantoms", init="phantoms")
    with pytest.raises(MedlearnInputError, match="no pre-trained weights"):
        make_plan(get_case("breast"), "classic", "busi", init="phantoms")
    plan = make_plan(get_case("breast"), "resnet18", "busi", init="phantoms")
    assert plan.to_dict()["init"] == "phantoms"


@mirror
def test_sim_to_real_pretrains_on_phantoms_then_fine_tunes_on_real(tmp_path, monkeypatch):
    from medlearn.cases import base

    breast = get_case("breast")  # a tiny phantom recipe: the first stage trains by it
    tiny = replace(breast.recipe, epochs=1, train_cases=6, val_cases=2, batch_size=3)
    monkeypatch.setitem(base._REGISTRY, "breast", replace(breast, recipe=tiny))
    store = RunStore(tmp_path / "runs.db")
    record = train_recipe("breast", "resnet18", "busi", init="phantoms", store=store, checkpoint_root=tmp_path,
                          **TINY)
    runs = {(r.source, r.status) for r in store.list_runs()}
    assert runs == {("phantoms", "done"), ("busi", "done")}  # the phantom stage is its own run
    meta = read_meta(record.checkpoint)
    assert meta["init"] == "phantoms" and meta["card"]["source"] == "busi"
    assert "phantoms" in meta["card"]["weights"] and "starting from MedLearn weights" in meta["card"]["weights"]
    scratch = train_recipe("breast", "resnet18", "busi", store=store, checkpoint_root=tmp_path, **TINY)
    assert scratch.checkpoint != record.checkpoint  # the two starts never share a checkpoint
    again = train_recipe("breast", "resnet18", "busi", init="phantoms", store=store, checkpoint_root=tmp_path,
                         **TINY)
    assert sum(r.source == "phantoms" for r in store.list_runs()) == 1  # the finished phantom run is reused
    assert again.status == "done"


def test_balanced_sampler_draws_each_class_about_equally():
    data = SimpleNamespace(targets=torch.tensor([0] * 90 + [1] * 10))
    data.__len__ = lambda: 100
    sampler = balanced_sampler(data, torch.Generator().manual_seed(0))
    drawn = data.targets[list(iter(sampler))]
    assert len(drawn) == 100 and 35 <= int(drawn.sum()) <= 65  # 10 % minority drawn about half the time


def test_balanced_is_a_classifier_option_named_in_the_plan():
    plan = make_plan(get_case("breast"), "resnet18", "busi")
    assert plan.balanced is True and plan.to_dict()["balanced"] is True  # the BUSI recipe's choice
    assert make_plan(get_case("breast"), "resnet18", "phantoms").balanced is False
    assert make_plan(get_case("heart"), "unet", "phantoms", balanced=True).balanced is False  # segmentation


def test_strong_augmentation_changes_the_checkpoint_name_and_the_images():
    case = get_case("breast")
    plain, strong = (make_plan(case, "resnet18", "busi", augment=a) for a in (True, "strong"))
    assert "augment" not in plain.to_dict() and strong.to_dict()["augment"] == "strong"
    with pytest.raises(MedlearnInputError, match="augmentation"):
        make_plan(case, "resnet18", "busi", augment="wild")
    x = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 32, 32) / 1024
    aug = make_augmentation(2, True, "US", seed=0, strong=True)
    mask = (x > 0.5).long()
    outs = [aug({"image": x, "mask": mask}) for _ in range(8)]
    assert any(not torch.allclose(torch.as_tensor(o["image"]), x) for o in outs)
    assert all(set(torch.as_tensor(o["mask"]).unique().tolist()) <= {0, 1} for o in outs)  # labels stay labels


def test_folds_partition_the_patients():
    items = [SimpleNamespace(id=f"i{i}", meta={"patient": f"p{i % 7}"}) for i in range(30)]
    held = []
    for k in range(3):
        train, val = split_items(items, 0, seed=0, fold=(k, 3))
        assert not {it.meta["patient"] for it in train} & {it.meta["patient"] for it in val}
        held += [it.id for it in val]
    assert sorted(held) == sorted(it.id for it in items)  # every item held out exactly once
    assert parse_fold("2/5") == (1, 5) and make_plan(get_case("breast"), "resnet18", "busi", fold="2/5").fold == "2/5"
    for bad in ("0/5", "6/5", "1/1", "two"):
        with pytest.raises(MedlearnInputError, match="[Ff]old"):
            parse_fold(bad)
    with pytest.raises(MedlearnInputError, match="impossible"):
        split_items(items, 0, fold=(0, 8))  # 7 patients cannot fill 8 folds


def test_the_full_recipe_is_larger_for_a_gpu():
    case = get_case("breast")
    cpu, gpu = make_plan(case, "resnet18", "busi"), make_plan(case, "resnet18", "busi", full=True)
    assert (gpu.epochs, gpu.width, gpu.n_train) == (75, 32, 100_000) and gpu.input_size == cpu.input_size
    assert gpu.to_dict() != cpu.to_dict()  # its own checkpoint
