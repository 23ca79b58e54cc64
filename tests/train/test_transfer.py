"""Transfer learning's comparison: which starts this machine can honour (and why not), the
paired difference on shared patients, and three tiny runs compared end to end."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError
from medlearn.evaluate import Evaluation
from medlearn.train.transfer import (IMAGENET, MEDLEARN, SCRATCH, comparison_width, compare_checkpoints,
                                     paired_differences, transfer_starts, transfer_variants)

NAMES = ("benign or normal", "malignant")


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_starts_say_what_is_off_and_why(empty_hub):
    retina = get_case("retina")
    scratch, imagenet, medlearn = transfer_starts(retina, "resnet18", "retinamnist")
    assert (scratch.key, scratch.available) == (SCRATCH, True)
    assert imagenet.key == IMAGENET and not imagenet.available and "not on this machine" in imagenet.reason
    assert medlearn.key == MEDLEARN and medlearn.init == "phantoms" and "sim-to-real" in medlearn.reason
    assert transfer_variants([scratch, imagenet, medlearn]) == [{"init": "phantoms"}]
    assert comparison_width("resnet18", [scratch, imagenet, medlearn], 16) == 16  # no ImageNet: the recipe's
    on_phantoms = transfer_starts(retina, "resnet18", "phantoms")
    assert not on_phantoms[2].available and "real source" in on_phantoms[2].reason
    warm = transfer_starts(retina, "resnet18", "phantoms", medlearn_init="medlearn:/runs/breast.safetensors")
    assert warm[2].available and "breast.safetensors" in warm[2].reason
    with pytest.raises(MedlearnInputError, match="classical baseline"):
        transfer_starts(retina, "classic", "retinamnist")
    assert "no published ImageNet weights" in transfer_starts(get_case("heart"), "unet", "phantoms")[1].reason


def test_an_imagenet_start_fixes_the_published_width(empty_hub):
    empty_hub.mkdir(parents=True)
    from medlearn.models.pretrained import weights_file

    weights_file("alexnet").dest.write_bytes(b"stand-in: only its presence is asked here")
    starts = transfer_starts(get_case("retina"), "alexnet", "retinamnist")
    assert starts[1].available and starts[1].init == "imagenet"
    assert transfer_variants(starts) == [{"init": "imagenet"}, {"init": "phantoms"}]
    assert comparison_width("alexnet", starts, 16) == 64  # the same network three ways


def _evaluation(ids, truth, p_malignant, groups=None) -> Evaluation:
    rows = [{"id": i, "group": g, "truth": NAMES[t], "prediction": NAMES[int(p >= 0.5)],
             "probabilities": {NAMES[0]: 1 - p, NAMES[1]: p}}
            for i, g, t, p in zip(ids, groups or ids, truth, p_malignant)]
    return Evaluation("breast", "resnet18", "x", "busi", "val", "", len(rows), len(set(groups or ids)), None, [],
                      rows, 200, 0)


def test_paired_difference_resamples_the_same_patients_for_both_runs():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 120)
    ids = [f"img{i}" for i in range(120)]
    weak = np.clip(0.5 + 0.1 * (truth - 0.5) + rng.normal(0, 0.25, 120), 0, 1)
    strong = np.clip(0.5 + 0.8 * (truth - 0.5) + rng.normal(0, 0.1, 120), 0, 1)
    reference = _evaluation(ids, truth, weak)
    same = paired_differences(reference, _evaluation(ids, truth, weak), ("auc", "accuracy"), resamples=100)
    assert same["auc"].value == 0 and same["auc"].low == same["auc"].high == 0 and same["auc"].n == 120
    better = paired_differences(reference, _evaluation(ids[::-1], truth[::-1], strong[::-1]), ("auc", "accuracy"),
                                resamples=100)  # item order does not matter: ids pair them
    assert better["auc"].value > 0.2 and better["auc"].low > 0 and better["accuracy"].low > 0
    assert set(better) == {"auc", "accuracy"} and better["auc"].label == "AUC difference"
    with pytest.raises(MedlearnInputError, match="different items"):
        paired_differences(reference, _evaluation([f"other{i}" for i in range(120)], truth, strong), ("auc",))


def test_three_tiny_runs_on_one_split_are_compared(tmp_path):
    from medlearn.predict import Predictor
    from medlearn.train.recipes import train_recipe
    from medlearn.train.store import RunStore

    store = RunStore(tmp_path / "runs.db")
    tiny = dict(epochs=1, n_train=6, n_val=6, input_size=16, batch_size=6, store=store, checkpoint_root=tmp_path)
    scratch = train_recipe("breast", "resnet18", "phantoms", **tiny)
    warm = train_recipe("breast", "resnet18", "phantoms", init=f"medlearn:{scratch.checkpoint}", **tiny)
    assert scratch.checkpoint != warm.checkpoint
    evaluations, differences = compare_checkpoints(
        "breast", {SCRATCH: scratch.checkpoint, MEDLEARN: warm.checkpoint}, ("auc", "accuracy"), resamples=50,
        predictor=Predictor(device="cpu", store=store))
    ids = [[r["id"] for r in ev.items] for ev in evaluations.values()]
    assert ids[0] == ids[1] and len(ids[0]) == 6  # the same validation items
    assert set(differences) == {MEDLEARN} and differences[MEDLEARN]["accuracy"].n == 6
    a, b = (evaluations[k].figure("accuracy").value for k in (SCRATCH, MEDLEARN))
    assert differences[MEDLEARN]["accuracy"].value == pytest.approx(b - a)
    with pytest.raises(MedlearnInputError, match="from scratch"):
        compare_checkpoints("breast", {MEDLEARN: warm.checkpoint}, ("auc",))
