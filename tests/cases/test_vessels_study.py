"""The vessels study: registered on the retina page, tiled recipes, and a tiny run end to end
(train on tiles, answer a whole photograph at full resolution, score inside the field of view)."""

import numpy as np
import pytest

from medlearn.cases import get_case, list_cases, studies_of
from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError
from medlearn.train.data import preprocessing_for
from medlearn.train.plan import make_plan

KEY = "retina_vessels"


def test_registered_as_a_study_of_the_retina_page_with_its_sources():
    case = get_case(KEY)
    assert case.parent == "retina" and case.study == "Vessels" and case.page_key == "retina"
    assert case in studies_of("retina") and case not in list_cases() and case in list_cases(studies=True)
    assert case.task.class_names == ("background", "vessel") and case.task.in_channels == 3
    assert {"phantoms", "chase_db1"} <= set(case.sources) and case.recipe.architectures == ("unet", "fcn")
    assert {p.metric for p in case.published} >= {"AUC", "Accuracy", "Sensitivity", "Specificity"}
    assert all(p.dataset.startswith("DRIVE") for p in case.published)
    assert "CHASE" in case.summary and any("child" in t for t in case.teaching_points)


def test_plans_carry_the_tile_and_the_card_keeps_it_only_where_it_tiles():
    case = get_case(KEY)
    plan = make_plan(case, "unet", "phantoms")
    assert (plan.input_size, plan.tile) == (512, 128) and plan.to_dict()["tile"] == 128
    real = make_plan(case, "fcn", "chase_db1")
    assert (real.input_size, real.tile, real.n_train) == (960, 128, 10)
    assert "tile" not in make_plan(get_case("heart"), "unet", "phantoms").to_dict()  # other cases: names kept
    assert make_plan(get_case("heart"), "unet", "phantoms", tile=64).tile == 64  # any 2D segmenter may tile
    assert make_plan(get_case("breast"), "alexnet", "phantoms", tile=64).tile is None  # classifiers never do
    with pytest.raises(MedlearnInputError, match="tile"):
        make_plan(case, "unet", "phantoms", tile=3)
    assert preprocessing_for(case, 512, 2, tile=128).tile == 128
    assert preprocessing_for(case, 128, 2, tile=128).tile is None  # the image is one tile: one pass


def test_tiny_run_trains_on_tiles_answers_whole_and_scores_in_the_field(tmp_path, monkeypatch):
    from medlearn import tiling
    from medlearn.evaluate import evaluate
    from medlearn.predict import Predictor
    from medlearn.train.recipes import train_recipe
    from medlearn.train.store import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    run = train_recipe(KEY, "unet", "phantoms", epochs=1, n_train=2, n_val=2, input_size=64, tile=32, width=4,
                       batch_size=4, store=store, checkpoint_root=tmp_path)
    assert run.status == "done" and run.config["tile"] == 32
    predictor = Predictor(device="cpu", store=store)
    assert predictor.load(run.checkpoint).card.preprocessing.tile == 32
    image = generate(KEY, 1, seed=5, size=96)[0].image
    pred = predictor.predict(KEY, image, explain="gradcam", checkpoint=run.checkpoint)
    assert pred.mask.shape == pred.foreground.shape == pred.explanation.shape == (96, 96)
    assert pred.foreground.dtype == np.float32 and 0 <= pred.foreground.min() <= pred.foreground.max() <= 1
    assert np.mean((pred.foreground >= 0.5) == (pred.mask == 1)) > 0.97  # same decisions, resampled apart
    plain = predictor.predict(KEY, image, explain=None, checkpoint=run.checkpoint)
    assert np.array_equal(plain.mask, pred.mask)  # explaining does not change the answer
    assert any("tiles" in text for _, text in pred.card)
    monkeypatch.setattr(tiling, "WHOLE_PIXELS", 32 * 32)  # a photograph beyond the budget: sliding windows
    windows = predictor.predict(KEY, image, explain="gradcam", checkpoint=run.checkpoint)
    assert windows.mask.shape == windows.explanation.shape == (96, 96)
    assert np.mean(windows.mask == pred.mask) > 0.9  # the same network, read in windows of its tiles
    result = evaluate(KEY, checkpoint=run.checkpoint, split="val", resamples=20, predictor=predictor)
    names = {f.name for f in result.figures}
    assert {"fov_sensitivity", "fov_specificity", "fov_accuracy", "fov_auc", "fov_dice", "dice"} <= names
    assert 0 <= result.figure("fov_accuracy").value <= 1 and result.figure("fov_auc").n == 2
    assert "fov_auc" in result.items[0]
