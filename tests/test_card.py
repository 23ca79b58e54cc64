"""The model card: stored with the weights, read back whole, and the plausibility checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medlearn.card import ModelCard, build_card, build_domain, card_of, check_input
from medlearn.cases import get_case
from medlearn.data.image import MedImage
from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError, ModelUnavailableError
from medlearn.models import get_model
from medlearn.predict import Predictor
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.data import preprocessing_for
from medlearn.train.plan import make_plan
from medlearn.train.store import RunStore


def heart_card() -> ModelCard:
    case = get_case("heart")
    plan = make_plan(case, "unet", "phantoms", input_size=32)
    pre = preprocessing_for(case, 32, 2)
    return build_card(plan, case, pre, [p.image for p in generate("heart", n=2, seed=0)], "test", 1)


def test_card_round_trips_through_checkpoint_metadata():
    card = heart_card()
    meta = {"card": card.to_dict(), "metrics": {"dice": 0.8, "threshold": None}}
    again = card_of(meta)
    assert again.to_dict() == card.to_dict() and again.metrics["dice"] == 0.8
    assert again.preprocessing.intensity.per_slice and again.preprocessing.intensity.cap_iqr == 3.0
    assert again.domain.modalities == ("MR",) and again.domain.extent_mm == (350.0, 350.0)
    rows = dict(again.rows())
    assert "phantoms" in rows["training data"] and "dice 0.800" in rows["validation"]


def test_a_checkpoint_without_a_card_is_refused_with_a_reason(tmp_path):
    with pytest.raises(ModelUnavailableError, match="older MedLearn without a model card.*Retrain"):
        card_of({"name": "unet", "case": "heart"}, "old.safetensors")
    kw = dict(in_channels=1, num_classes=3, spatial_dims=2, width=8, input_size=32)
    path = save_checkpoint(get_model("unet", **kw), {"name": "unet", **kw, "case": "heart", "source": "phantoms"},
                           tmp_path / "old.safetensors")
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run("heart", "unet", "phantoms", {})
    store.finish(run, "done", metrics={"dice": 0.9}, checkpoint=str(path))
    predictor = Predictor(device="cpu", store=store)
    with pytest.raises(ModelUnavailableError, match="without a model card"):
        predictor.load(path)
    with pytest.raises(ModelUnavailableError, match="1 older checkpoint without a model card was skipped"):
        predictor.find_checkpoint(get_case("heart"), None)


def test_a_hippocampus_volume_is_not_answered_by_the_heart_model():
    """Once seen: a hippocampus NIfTI came back from the heart model as "LV 2.7 ml"."""
    crop = MedImage(np.random.default_rng(0).normal(500, 80, (35, 51, 35)).astype(np.float32),
                    spacing=(1.0, 1.0, 1.0), modality="MR", orientation="RAS")
    with pytest.raises(MedlearnInputError, match=r"covers 51 x 35 mm.*350-350 mm"):
        check_input(crop, heart_card(), "Left ventricle")


def test_other_modality_2d_for_3d_colour_and_aspect():
    card = heart_card()
    ct = MedImage(np.zeros((64, 64), np.int16), spacing=(5.4, 5.4), modality="CT", format="dicom")
    with pytest.raises(MedlearnInputError, match="CT image.*MR images"):
        check_input(ct, card, "Left ventricle")
    untagged = MedImage(np.zeros((64, 64), np.uint8), modality="OT", format="png")  # a PNG says nothing
    assert check_input(untagged, card, "Left ventricle") == []
    wide = MedImage(np.zeros((20, 400), np.uint8), modality="OT", format="png")
    assert "far wider" in " ".join(check_input(wide, card, "Left ventricle"))
    house = MedImage(np.random.default_rng(1).integers(0, 255, (64, 64, 3)).astype(np.uint8), format="png")
    assert "colour picture" in " ".join(check_input(house, card, "Left ventricle"))
    case = get_case("hippocampus")
    pre = preprocessing_for(case, 16, 3)
    card3d = build_card(make_plan(case, "unet3d", "phantoms"), case, pre, [], "test", 0)
    with pytest.raises(MedlearnInputError, match="3D model and needs a volume"):
        check_input(untagged, card3d, "Hippocampus")


def test_domain_ignores_unknown_spacing():
    known = MedImage(np.zeros((100, 100), np.uint8), spacing=(0.5, 0.5), modality="US")
    dom = build_domain([known])
    assert dom.extent_mm == (50.0, 50.0)
    assert dom.aspect == (1.0, 1.0) and not dom.colour


def test_predictor_decides_at_the_cards_threshold(tmp_path):
    """A binary classifier decides at its stored operating threshold, and says so."""
    from medlearn.train.recipes import untrained_meta

    meta = {**untrained_meta("breast", "resnet18", width=8, input_size=32),
            "metrics": {"accuracy": 0.7, "threshold": 0.0}}
    torch.manual_seed(0)
    path = save_checkpoint(get_model("resnet18", in_channels=1, num_classes=2, width=8, input_size=32), meta,
                           tmp_path / "b.safetensors")
    image = MedImage(np.random.default_rng(0).integers(0, 255, (40, 40)).astype(np.uint8), modality="US")
    pred = Predictor(device="cpu").predict("breast", image, explain=None, checkpoint=path)
    assert pred.threshold == 0.0 and pred.prediction == "malignant"  # p >= 0 always: the threshold decided
    assert any("operating threshold" in n for n in pred.notes)
    assert ("decision", "malignant when its probability is at least 0.000 (chosen on validation: Youden's J)") \
        in pred.card


def test_a_poor_model_is_called_unreliable_wherever_it_answers():
    """Once seen: a U-Net with validation Dice 0.004 put a confident EF on the screen."""
    card = card_of({"card": heart_card().to_dict(), "metrics": {"dice": 0.004}})
    warning = card.quality_warning("dice")
    assert "scored only dice 0.004" in warning and "every measurement made from them are unreliable" in warning
    assert card_of({"card": heart_card().to_dict(), "metrics": {"dice": 0.81}}).quality_warning("dice") is None
    assert card_of({"card": heart_card().to_dict(), "metrics": {}}).quality_warning("dice") is None


def test_validation_rows_say_which_decisions_they_score():
    from medlearn.train.recipes import untrained_meta

    meta = {**untrained_meta("breast", "alexnet"), "metrics": {"accuracy": 0.526, "auc": 0.744, "threshold": 0.33,
                                                                "balanced_accuracy": 0.833, "sensitivity": 0.667,
                                                                "specificity": 1.0}}
    rows = dict(card_of(meta).rows())
    assert rows["validation (decisions at 0.5)"] == "accuracy 0.526, auc 0.744"
    assert rows["validation at the threshold"] == "balanced accuracy 0.833, sensitivity 0.667, specificity 1.000"


def test_a_tiny_image_is_shown_but_not_diagnosed():
    tiny = MedImage(np.zeros((10, 12), np.uint8), modality="OT", format="png")
    with pytest.raises(MedlearnInputError, match="10 x 12 pixels: too small"):
        check_input(tiny, heart_card(), "Left ventricle")


def test_a_detectors_card_shows_its_froc_and_warns_below_the_floor():
    from medlearn.train.recipes import untrained_meta

    meta = {**untrained_meta("lung_detection", "faster_rcnn"), "metrics": {"cpm": 0.468, "sensitivity_1fp": 0.5}}
    assert dict(card_of(meta).rows())["validation"] == "cpm 0.468, sensitivity 1fp 0.500"
    assert card_of(meta).quality_warning("cpm") is None
    poor = card_of({**meta, "metrics": {"cpm": 0.1}})
    assert "scored only cpm 0.100" in poor.quality_warning("cpm")
