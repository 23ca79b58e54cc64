"""``train_recipe`` end to end on tiny phantom sets with the real model registry."""

import numpy as np
import pytest

from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.train.checkpoints import load_checkpoint
from medlearn.train.plan import make_plan
from medlearn.train.recipes import load_classic, prepare_data, recipe_checkpoint, train_recipe
from medlearn.train.store import RunStore
from medlearn.cases import get_case

TINY = dict(epochs=1, n_train=8, n_val=4, input_size=32, width=4, batch_size=4)


def test_network_recipe_records_run_and_checkpoint(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    record = train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, **TINY)
    assert record.status == "done" and len(record.epochs) == 1 and "auc" in record.metrics
    assert record.config["n_train"] == 8 and record.checkpoint
    model, meta = load_checkpoint(record.checkpoint)
    assert meta["case"] == "breast" and meta["name"] == "alexnet" and meta["input_size"] == 32
    assert str(recipe_checkpoint("breast", "alexnet", root=tmp_path, **TINY)) == record.checkpoint
    from medlearn.train.checkpoints import resume_path

    assert not resume_path(record.checkpoint).exists()  # a finished run keeps no resume state (100+ MB)
    again = train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, resume=True, **TINY)
    assert again.epochs == [] and again.status == "done"  # nothing left to train: all epochs were done


def test_classic_recipe_uses_the_same_api(tmp_path):
    record = train_recipe("breast", "classic", checkpoint_root=tmp_path, **TINY)
    assert record.status == "done" and record.epochs[0]["epoch"] == 1 and 0 <= record.metrics["accuracy"] <= 1
    model, meta = load_classic(record.checkpoint, root=tmp_path)
    assert model.predict_proba  # a fitted classical pipeline
    with pytest.raises(MedlearnInputError):
        load_classic(record.checkpoint, root=tmp_path / "elsewhere")


def test_race_archs_share_the_split():
    case = get_case("hippocampus")
    splits = []
    for arch in ("unet", "unet3d"):
        plan = make_plan(case, arch, "phantoms", n_train=4, n_val=2, input_size=16, seed=5)
        _, _, train_items, val_items = prepare_data(plan, case)
        splits.append(([i.image.pixels for i in val_items], plan.model_dims))
    (val_2d, dims_2d), (val_3d, dims_3d) = splits
    assert (dims_2d, dims_3d) == (2, 3) and len(val_2d) == len(val_3d) == 2
    assert all(np.array_equal(a, b) for a, b in zip(val_2d, val_3d))


def test_bad_choices_raise_typed_errors(tmp_path):
    with pytest.raises(UnknownNameError):
        train_recipe("breast", "no_such_net", checkpoint_root=tmp_path, **TINY)
    with pytest.raises(UnknownNameError):
        train_recipe("spleen", "unet", checkpoint_root=tmp_path)
    with pytest.raises(MedlearnInputError):
        train_recipe("breast", "unet3d", checkpoint_root=tmp_path, **TINY)
    with pytest.raises(MedlearnInputError):
        train_recipe("breast", "alexnet", checkpoint_root=tmp_path, **{**TINY, "input_size": 2})


def test_split_keeps_each_patient_on_one_side():
    from types import SimpleNamespace

    from medlearn.train.data import split_items

    items = [SimpleNamespace(id=f"p{i // 5}_{i}", meta={"patient": f"p{i // 5}"}) for i in range(20)]
    train, val = split_items(items, 4, seed=1)
    assert len(val) == 5 and len(train) == 15  # one whole patient of five images
    assert not {i.meta["patient"] for i in train} & {i.meta["patient"] for i in val}
    assert {i.id for i in split_items(items[::-1], 4, seed=1)[1]} == {i.id for i in val}
    with pytest.raises(MedlearnInputError):
        split_items(items[:5], 2)  # one patient cannot be on both sides


def test_recipes_size_2d_slice_batches_separately():
    case = get_case("hippocampus")
    r = case.recipe
    slices, volumes = make_plan(case, "unet", "phantoms"), make_plan(case, "unet3d", "phantoms")
    assert volumes.batch_size == r.batch_size
    assert slices.batch_size == (r.batch_size_2d or r.batch_size)
    assert make_plan(case, "unet", "phantoms", batch_size=3).batch_size == 3
    assert make_plan(get_case("breast"), "alexnet", "phantoms").batch_size == get_case("breast").recipe.batch_size


def test_a_slower_model_trains_its_recipes_own_epochs_unless_asked_otherwise():
    case = get_case("hippocampus")
    real = case.recipe_for("msd_hippocampus")
    assert dict(real.epochs_by_arch)["maskrcnn"] < real.epochs  # within the real recipe's time
    assert make_plan(case, "maskrcnn", "msd_hippocampus").epochs == real.epochs_for("maskrcnn")
    assert make_plan(case, "unet", "msd_hippocampus").epochs == real.epochs == real.epochs_for("unet")
    assert make_plan(case, "maskrcnn", "msd_hippocampus", epochs=3).epochs == 3  # an explicit choice wins
    assert case.recipe_for("msd_hippocampus", full=True).epochs_for("maskrcnn") == max(50, 5 * real.epochs)
