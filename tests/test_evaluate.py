"""``medlearn.evaluate``: tiny models trained on phantoms are scored again through the
Predictor; on the training run's own validation split the figures equal the stored ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medlearn.cli import main
from medlearn.clinical import lv_function
from medlearn.data.io import save_image, save_mask
from medlearn.data.phantoms import generate, make_cine
from medlearn.data.sources import Sample
from medlearn.data.sources.folder import FolderSource
from medlearn.errors import MedlearnInputError
from medlearn.evaluate import bootstrap, evaluate, score
from medlearn.predict import Predictor
from medlearn.train.checkpoints import read_meta
from medlearn.train.recipes import train_recipe
from medlearn.train.store import RunStore

TINY = dict(epochs=1, width=4)


def _stored(record) -> dict:
    """The validation scores stored with the weights; the run store holds the same."""
    meta = read_meta(record.checkpoint) if record.checkpoint.endswith(".safetensors") else json.loads(
        open(f"{record.checkpoint}/medlearn.json").read())
    assert meta["metrics"]["epoch"] == record.metrics["epoch"]
    for key, value in meta["metrics"].items():
        if isinstance(value, float) and value == value:
            assert record.metrics[key] == pytest.approx(value, abs=1e-12)
    return meta["metrics"]


def test_val_split_reproduces_the_stored_classification_scores(capsys):
    record = train_recipe("breast", "alexnet", n_train=8, n_val=6, input_size=32, batch_size=4, **TINY)
    stored = _stored(record)
    result = evaluate("breast", split="val", resamples=200, seed=1)
    assert result.data == "phantoms" and "training run's validation split" in result.split_note
    assert result.n_items == 6 and result.checkpoint == record.checkpoint
    assert result.figure("accuracy").value == pytest.approx(stored["accuracy"], abs=1e-6)
    assert result.figure("auc").value == pytest.approx(stored["auc"], abs=1e-4)
    assert result.threshold == pytest.approx(stored["threshold"])
    for key in ("balanced_accuracy", "sensitivity", "specificity"):
        assert result.figure(key).value == pytest.approx(stored[key], abs=1e-6)
        assert result.figure(key).training == pytest.approx(stored[key])
    assert result.figure("sensitivity").n + result.figure("specificity").n == 6
    for f in result.figures:
        assert f.n >= 1 and (np.isnan(f.low) or 0.0 <= f.low <= f.high <= 1.0), f
    # the command line prints the same figures, as JSON and as a table
    assert main(["evaluate", "breast", "--json", "--bootstrap", "200", "--seed", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["figures"]["accuracy"]["value"] == pytest.approx(stored["accuracy"], abs=1e-6)
    assert out["figures"]["accuracy"]["ci_low"] == pytest.approx(result.figure("accuracy").low)
    assert out["bootstrap"] == {"resamples": 200, "seed": 1, "level": 0.95, "unit": "item"}
    assert len(out["items"]) == 6 and {"truth", "prediction", "probabilities"} <= set(out["items"][0])
    assert main(["evaluate", "breast", "--bootstrap", "50"]) == 0
    text = capsys.readouterr().out
    assert "95% interval" in text and "training" in text and "accuracy (argmax)" in text
    # the source's own splits: test items never trained it, "all" holds the training items
    test = evaluate("breast", "phantoms", split="test", resamples=0, limit=5)
    assert test.seen_in_training == 0 and test.n_items == 5 and all(f.training is None for f in test.figures)
    every = evaluate("breast", "phantoms", split="all", resamples=0, limit=20)
    assert every.seen_in_training == 8 and any("optimistic" in n for n in every.notes)
    # bad data names, folders and checkpoints: one error line, exit 2
    assert main(["evaluate", "heart", "--checkpoint", record.checkpoint]) == 2
    assert "trained for case 'breast'" in capsys.readouterr().err
    for argv in (["--data", "no_such_source"], ["--data", "phantoms", "--split", "train"],
                 ["--bootstrap", "-1"], ["--limit", "0"]):
        assert main(["evaluate", "breast", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1


def test_ordinal_grades_get_kappa_and_rates_of_each_class_against_the_rest():
    record = train_recipe("retina", "alexnet", n_train=10, n_val=8, input_size=32, batch_size=5, **TINY)
    stored = _stored(record)
    result = evaluate("retina", split="val", resamples=100)
    assert result.threshold is None and result.n_items == 8  # five grades: argmax decides
    for key in ("accuracy", "kappa"):
        assert result.figure(key).value == pytest.approx(stored[key], abs=1e-6)
    assert result.figure("auc").value == pytest.approx(stored["auc"], abs=1e-4)
    sens = {n: result.figure(f"sensitivity[{n}]") for n in _grades()}
    spec = {n: result.figure(f"specificity[{n}]") for n in _grades()}
    assert all(sens[n].n + spec[n].n == 8 for n in _grades())
    present = [sens[n].value for n in _grades() if sens[n].n]
    assert result.figure("balanced_accuracy").value == pytest.approx(np.mean(present), abs=1e-9)


def _grades() -> tuple[str, ...]:
    from medlearn.cases import get_case

    return get_case("retina").task.class_names


def test_val_split_reproduces_the_stored_dice_of_a_2d_segmenter():
    record = train_recipe("heart", "unet", n_train=3, n_val=2, batch_size=3, **TINY)
    stored = _stored(record)
    result = evaluate("heart", split="val", resamples=100)
    assert result.n_items == 2
    for key in ("dice", "iou", "hd95"):
        assert result.figure(key).value == pytest.approx(stored[key], rel=1e-5, abs=1e-6)
        for name, value in stored[f"{key}_per_class"].items():
            if value == value:
                assert result.figure(f"{key}[{name}]").value == pytest.approx(value, rel=1e-5, abs=1e-6)
                assert result.figure(f"{key}[{name}]").training == pytest.approx(value)
    assert any("ejection-fraction" in n for n in result.notes)  # phantom slices carry no ED/ES pairs


def _volume_folder(case_root, n: int) -> None:
    """Hippocampus phantoms cropped to 32 x 32 x 32 (the model's input size), as NIfTI files."""
    for i, ph in enumerate(generate("hippocampus", n, seed=3)):
        image = ph.image.with_pixels(ph.image.pixels[:, 8:40, :])
        save_image(image, case_root / "images" / f"h{i:02d}.nii.gz")
        mask = ph.mask[:, 8:40, :].astype(np.uint8)
        save_mask(mask, image.spacing, case_root / "masks" / f"h{i:02d}.nii.gz")


def test_a_2d_segmenter_of_volumes_is_scored_per_volume_as_in_training():
    _volume_folder(FolderSource().case_root("hippocampus"), 6)
    record = train_recipe("hippocampus", "unet", source="folder", n_train=4, n_val=2, input_size=32,
                          batch_size=32, **TINY)
    stored = _stored(record)
    assert "dice_per_slice" in stored  # training scored per volume
    result = evaluate("hippocampus", split="val", resamples=100)
    from medlearn.train.plan import RunPlan
    from medlearn.train.recipes import split_data

    n_val = len(split_data(RunPlan(**record.config))[1])  # a seeded, patient-level fifth
    assert n_val >= 1 and result.n_items == n_val and result.data == "folder"
    assert any("scored whole" in n for n in result.notes)
    for key in ("dice", "iou"):
        assert result.figure(key).value == pytest.approx(stored[key], rel=1e-5, abs=1e-6)
        for name in ("anterior (head)", "posterior (body/tail)"):
            value = stored[f"{key}_per_class"][name]
            if value == value:
                assert result.figure(f"{key}[{name}]").value == pytest.approx(value, rel=1e-5, abs=1e-6)


def test_the_classical_baseline_is_scored_by_the_same_command(capsys):
    record = train_recipe("breast", "classic", n_train=10, n_val=6)
    stored = _stored(record)
    argv = ["evaluate", "breast", "--arch", "classic", "--split", "val", "--json", "--bootstrap", "100"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["arch"] == "classic" and out["checkpoint"] == record.checkpoint and out["n_items"] == 6
    assert out["figures"]["accuracy"]["value"] == pytest.approx(stored["accuracy"], abs=1e-6)
    assert out["figures"]["auc"]["value"] == pytest.approx(stored["auc"], abs=1e-4)


def _cine_samples(patient: str, seed: int) -> tuple[list[Sample], float]:
    cine = make_cine(seed=seed, n_slices=6, n_phases=8, size=128)
    samples = []
    for phase, frame in (("ED", cine.ed_phase), ("ES", cine.es_phase)):
        for z in range(cine.images.shape[1]):
            meta = {"patient": patient, "phase": phase, "slice_location": 10.0 * z,
                    "slice_thickness_mm": cine.spacing[0]}
            samples.append(Sample(f"{patient}_{phase}_{z}", cine.slice_image(frame, z), None,
                                  cine.masks[frame, z], meta))
    return samples, cine


def test_ejection_fraction_error_per_patient_from_ed_and_es_slices():
    record = train_recipe("heart", "unet", n_train=3, n_val=2, batch_size=3, **TINY)
    items, cines = [], {}
    for k, seed in enumerate((4, 9)):
        samples, cine = _cine_samples(f"p{k}", seed)
        items += samples
        cines[f"p{k}"] = cine
    result = score("heart", items, record.checkpoint, resamples=100)
    assert result.n_items == len(items) and result.n_groups == 2  # resampled by patient
    assert {row["patient"] for row in result.ef} == {"p0", "p1"}
    predictor = Predictor(device="cpu")
    errors = []
    for row in result.ef:
        cine = cines[row["patient"]]
        # the expert EF from the masks is the phantom's own (Simpson's method on its stacks)
        masks = cine.masks
        assert row["ef_expert"] == pytest.approx(
            lv_function(masks[cine.ed_phase], masks[cine.es_phase], cine.spacing)["ef_percent"], abs=1e-6)
        assert row["ef_expert"] == pytest.approx(cine.ef_percent, abs=5.0)
        stacks = [np.stack([predictor.predict("heart", cine.slice_image(f, z), explain=None,
                                              checkpoint=record.checkpoint).mask
                            for z in range(masks.shape[1])]) for f in (cine.ed_phase, cine.es_phase)]
        predicted = lv_function(*stacks, cine.spacing)["ef_percent"]
        assert row["ef_predicted"] == pytest.approx(predicted, abs=1e-6)
        errors.append(predicted - row["ef_expert"])
    fig = result.figure("ef_abs_error")
    assert fig.n == 2 and fig.value == pytest.approx(np.mean(np.abs(errors)), abs=1e-6)
    assert result.figure("ef_bias").value == pytest.approx(np.mean(errors), abs=1e-6)


def test_bootstrap_resamples_whole_patients_and_is_seedable():
    values = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    patients = [np.array([0, 1]), np.array([2, 3]), np.array([4, 5]), np.array([6, 7])]
    whole = {"whole": lambda r: float(all((r == 2 * k).sum() == (r == 2 * k + 1).sum() for k in range(4))),
             "mean": lambda r: float(values[r].mean())}
    a = bootstrap(patients, whole, resamples=300, seed=5)
    assert a["whole"] == (1.0, 1.0)  # a patient's rows are always drawn together
    assert 0.0 <= a["mean"][0] <= values.mean() <= a["mean"][1] <= 1.0
    # same seed, same interval; another seed, another one
    scores = np.random.default_rng(0).normal(size=60)
    each = [np.array([i]) for i in range(60)]
    mean = {"mean": lambda r: float(scores[r].mean())}
    first = bootstrap(each, mean, resamples=400, seed=5)["mean"]
    assert first == bootstrap(each, mean, resamples=400, seed=5)["mean"]
    assert first != bootstrap(each, mean, resamples=400, seed=6)["mean"]
    spread = scores.std() / np.sqrt(60)  # the normal-theory interval, for scale
    assert first[0] == pytest.approx(scores.mean() - 1.96 * spread, abs=0.5 * spread)
    assert first[1] == pytest.approx(scores.mean() + 1.96 * spread, abs=0.5 * spread)
    # undefined resamples (NaN) are left out; too few groups or no resamples: no interval
    half = bootstrap(patients, {"x": lambda r: np.nan if 0 in r else 1.0}, resamples=200, seed=0)
    assert half["x"] == (1.0, 1.0)
    assert all(np.isnan(bootstrap(patients[:1], whole, resamples=50)["mean"]))
    assert all(np.isnan(bootstrap(patients, whole, resamples=0)["mean"]))


def test_bad_requests_are_input_errors(capsys):
    with pytest.raises(MedlearnInputError, match="split"):
        evaluate("breast", split="train")
    with pytest.raises(MedlearnInputError, match="bootstrap resamples"):
        evaluate("breast", resamples=-1)
    assert main(["evaluate", "breast"]) == 2  # no model yet
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "prepare breast" in err and err.count("\n") == 1
    assert main(["evaluate", "no_such_case"]) == 2
    assert capsys.readouterr().err.startswith("error: Unknown case")
    assert RunStore().list_runs() == []


@pytest.mark.mirror
def test_sunnybrook_ejection_fraction_error_per_patient(mirror):
    train_recipe("heart", "unet", n_train=3, n_val=2, batch_size=3, **TINY)
    result = evaluate("heart", "sunnybrook", split="all", resamples=50)
    patients = {row["group"] for row in result.items}
    assert result.n_groups == len(patients) == 4 and result.n_items > 4  # resampled by patient
    scored = {row["patient"] for row in result.ef}
    left_out = next((n for n in result.notes if n.startswith("EF left out")), "")
    for p in (p.removeprefix("patient:") for p in patients):
        assert p in scored or p in left_out
    assert all(10.0 < row["ef_expert"] < 60.0 for row in result.ef)  # heart-failure patients
    if scored:
        assert result.figure("ef_abs_error").n == len(scored)
    assert any(n.startswith("myocardium: not drawn by the experts") for n in result.notes)  # ES frames
    assert result.figure("dice[myocardium]").n < result.figure("dice[LV cavity]").n


def test_cross_validated_items_are_each_answered_by_their_own_fold_model(tmp_path):
    """Pooled out-of-fold scoring: one checkpoint per item, every item scored once."""
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import split_data
    from medlearn.cases import get_case

    store = RunStore(tmp_path / "runs.db")
    choices = dict(n_train=8, n_val=4, input_size=32, batch_size=4, **TINY)
    items, checkpoints = [], []
    for fold in ("1/2", "2/2"):
        record = train_recipe("breast", "alexnet", store=store, checkpoint_root=tmp_path, fold=fold, **choices)
        _, held = split_data(make_plan(get_case("breast"), "alexnet", "phantoms", fold=fold, **choices))
        items += held
        checkpoints += [record.checkpoint] * len(held)
    assert len(set(checkpoints)) == 2 and len(items) == 12  # the two folds hold out all 12 phantoms
    result = score("breast", items, checkpoints, predictor=Predictor(device="cpu", store=store), resamples=50)
    assert result.n_items == 12 and "cross-validation" in " ".join(result.notes)
    assert result.figure("balanced_accuracy").label.endswith("(at the threshold)")
    with pytest.raises(MedlearnInputError, match="one per item"):
        score("breast", items, checkpoints[:3], predictor=Predictor(device="cpu", store=store))
