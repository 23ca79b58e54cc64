"""The enhancement training option: ACE/CLAHE on training tensors, in the meta, repeated by predict."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from medlearn.card import card_of
from medlearn.cases import get_case
from medlearn.cli import main
from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.predict import Predictor, prepare
from medlearn.train.checkpoints import load_checkpoint
from medlearn.train.data import make_dataset
from medlearn.train.plan import make_plan
from medlearn.train.recipes import recipe_checkpoint, train_recipe
from medlearn.train.store import RunStore

TINY = dict(epochs=1, n_train=6, n_val=2, input_size=32, width=4, batch_size=4)


@pytest.fixture(scope="module")
def breast_items():
    return generate("breast", n=2, seed=1, size=48)


@pytest.mark.parametrize("enhance", ["ace", "clahe"])
def test_enhancement_changes_the_training_tensors(breast_items, enhance):
    case = get_case("breast")
    raw = make_dataset(breast_items, case, 32, 2)
    enhanced = make_dataset(breast_items, case, 32, 2, enhance=enhance)
    assert enhanced.images.shape == raw.images.shape
    assert (enhanced.images - raw.images).abs().mean() > 0.01
    assert torch.equal(enhanced.targets, raw.targets)
    assert 0 <= float(enhanced.images.min()) and float(enhanced.images.max()) <= 1


def test_parameters_matter_and_bad_choices_raise_typed_errors(breast_items):
    case = get_case("breast")
    default = make_dataset(breast_items, case, 32, 2, enhance="ace")
    strong = make_dataset(breast_items, case, 32, 2, enhance="ace", enhance_params={"window": 41, "alpha": 2.0})
    assert not torch.allclose(default.images, strong.images)
    with pytest.raises(UnknownNameError):
        make_dataset(breast_items, case, 32, 2, enhance="sharpen")
    with pytest.raises(MedlearnInputError):
        make_dataset(breast_items, case, 32, 2, enhance="ace", enhance_params={"window": 4})  # even window
    with pytest.raises(MedlearnInputError):
        make_dataset(breast_items, case, 32, 2, enhance="ace", enhance_params={"no_such": 1})
    with pytest.raises(MedlearnInputError):
        make_plan(case, "alexnet", "phantoms", enhance_params={"window": 9})  # parameters without a method


def test_plan_records_enhancement_only_when_used():
    case = get_case("breast")
    raw = make_plan(case, "alexnet", "phantoms").to_dict()
    ace = make_plan(case, "alexnet", "phantoms", enhance="ace").to_dict()
    assert "enhance" not in raw and ace["enhance"] == "ace" and ace["enhance_params"] == {}
    assert recipe_checkpoint("breast", "alexnet", root="/r") != recipe_checkpoint("breast", "alexnet", root="/r",
                                                                                 enhance="ace")


def test_checkpoint_meta_run_config_and_prediction_repeat_it(tmp_path, breast_items):
    store = RunStore(tmp_path / "runs.sqlite")
    record = train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, enhance="ace", **TINY)
    assert record.status == "done" and record.config["enhance"] == "ace"
    _, meta = load_checkpoint(record.checkpoint)
    card = card_of(meta)
    assert card.preprocessing.enhance == "ace" and card.preprocessing.enhance_params == {}
    case, image = get_case("breast"), breast_items[0].image
    trained_as = make_dataset(breast_items[:1], case, 32, 2, enhance="ace").images
    norm = card.preprocessing.norm  # training standardised per channel; the predictor repeats it
    trained_as = (trained_as - torch.tensor(norm["mean"]).view(1, -1, 1, 1)) / torch.tensor(norm["std"]).view(1, -1, 1, 1)
    prepared = prepare(image, card, torch.device("cpu"))
    assert torch.allclose(prepared.x, trained_as, atol=1e-6)
    raw_card = replace(card, preprocessing=replace(card.preprocessing, enhance=None))
    raw = prepare(image, raw_card, torch.device("cpu"))
    assert not torch.allclose(raw.x, trained_as, atol=1e-3)
    pred = Predictor(device="cpu", store=store).predict("breast", image, explain=None,
                                                       checkpoint=record.checkpoint)
    assert any("ACE" in note for note in pred.notes)
    assert np.isclose(sum(pred.probabilities.values()), 1.0)


def test_cli_trains_with_enhancement(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDLEARN_HOME", str(tmp_path))
    argv = ["train", "breast", "--arch", "alexnet", "--enhance", "ace", "--epochs", "1", "--n-train", "6",
            "--n-val", "2", "--input-size", "32", "--width", "4", "--batch-size", "4", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ACE" in out and "done" in out
    _, meta = load_checkpoint(out.split("checkpoint: ")[1].strip())
    assert card_of(meta).preprocessing.enhance == "ace" and meta["width"] == 4
    assert main(["train", "breast", "--arch", "alexnet", "--epochs", "1", "--n-train", "6", "--n-val", "2",
                 "--input-size", "2", "--quiet"]) == 2  # a typed error becomes exit status 2
