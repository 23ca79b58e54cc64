"""Predictor on tiny checkpoints saved by the trainer's save_checkpoint (no training needed)."""

import threading

import numpy as np
import pytest
import torch

from medlearn.clinical import hippocampal_volumes
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, ModelUnavailableError, UnknownNameError
from medlearn.models import get_model
from medlearn.predict import DISCLAIMER, Predictor, predict
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta
from medlearn.train.store import RunStore

SPECS = {
    "breast": ("resnet18", dict(in_channels=1, num_classes=2, spatial_dims=2, width=8, input_size=32)),
    "lung": ("resnet3d", dict(in_channels=1, num_classes=2, spatial_dims=3, width=8, input_size=16)),
    "heart": ("unet", dict(in_channels=1, num_classes=3, spatial_dims=2, width=8, input_size=32)),
    "hippocampus": ("unet3d", dict(in_channels=1, num_classes=3, spatial_dims=3, width=8, input_size=16)),
    "hippocampus2d": ("unet", dict(in_channels=1, num_classes=3, spatial_dims=2, width=8, input_size=16)),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    out = {}
    for key, (arch, kw) in SPECS.items():
        case = key.removesuffix("2d")
        model = get_model(arch, **kw)
        meta = {**untrained_meta(case, arch, width=kw["width"], input_size=kw["input_size"]),
                "metrics": {"accuracy": 0.75}}
        out[key] = save_checkpoint(model, meta, root / f"{key}.safetensors")
    return out


@pytest.fixture(scope="module")
def predictor():
    return Predictor(device="cpu")


def grey(shape, seed=0, modality="US"):
    return MedImage(np.random.default_rng(seed).integers(0, 255, shape).astype(np.uint8), modality=modality)


def test_classification_answer(predictor, checkpoints):
    img = grey((40, 50))
    p = predictor.predict("breast", img, checkpoint=checkpoints["breast"])
    assert p.case == "breast" and p.arch == "resnet18" and p.disclaimer == DISCLAIMER
    assert set(p.probabilities) == {"benign or normal", "malignant"}
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.prediction == max(p.probabilities, key=p.probabilities.get)
    assert p.explanation.shape == (40, 50) and p.explanation.dtype == np.float32
    assert 0 <= p.explanation.min() and p.explanation.max() <= 1
    assert set(p.timings) == {"load", "preprocess", "forward", "explain", "postprocess"} and p.latency_ms > 0
    assert "phantoms" in p.weights_note and "accuracy 0.750" in p.weights_note
    plain = predictor.predict("breast", img, checkpoint=checkpoints["breast"], explain="none")
    assert plain.explanation is None and plain.timings["explain"] == 0.0
    for name, prob in plain.probabilities.items():  # one forward inside the CAM gives the same answer
        assert prob == pytest.approx(p.probabilities[name], abs=1e-5)


def test_wrong_kinds_of_image_are_adapted_with_notes(predictor, checkpoints):
    rgb = MedImage(np.random.default_rng(1).integers(0, 255, (30, 30, 3)).astype(np.uint8), modality="OT")
    p = predictor.predict("breast", rgb, checkpoint=checkpoints["breast"])
    assert any("grey" in n for n in p.notes) and p.explanation.shape == (30, 30)
    vol = grey((5, 24, 24), modality="MR")
    p = predictor.predict("breast", vol, checkpoint=checkpoints["breast"])
    assert any("central slice" in n for n in p.notes)
    assert p.explanation.shape == (5, 24, 24)
    assert p.explanation[[0, 1, 3, 4]].max() == 0.0
    with pytest.raises(MedlearnInputError, match="3D model"):
        predictor.predict("lung", grey((20, 20), modality="CT"), checkpoint=checkpoints["lung"])


def test_volume_classification_and_nodule_size(predictor, checkpoints):
    ball = np.full((20, 20, 20), -800.0, np.float32)
    z, y, x = np.mgrid[:20, :20, :20]
    ball[(z - 10) ** 2 + (y - 10) ** 2 + (x - 10) ** 2 <= 16] = 40.0
    img = MedImage(ball, spacing=(1.0, 0.5, 0.5), modality="CT")
    p = predictor.predict("lung", img, checkpoint=checkpoints["lung"])
    assert p.explanation.shape == (20, 20, 20)
    assert p.measurements["nodule_volume_mm3"] == pytest.approx((ball > 0).sum() * 0.25)
    assert p.measurements["nodule_diameter_mm"] == pytest.approx(4.5, abs=1.0)


def test_segmentation_single_slice_and_volumes(predictor, checkpoints):
    p = predictor.predict("heart", grey((48, 40), modality="MR"), checkpoint=checkpoints["heart"])
    assert p.prediction == "segmentation" and p.probabilities is None
    assert p.mask.shape == (48, 40) and p.mask.max() <= 2
    assert set(p.measurements) == {"lv_cavity_area_px2", "myocardium_area_px2"}  # no spacing: pixels, said so
    assert p.measurements["lv_cavity_area_px2"] == np.count_nonzero(p.mask == 1)
    known = MedImage(grey((48, 40)).pixels, spacing=(1.5, 1.5), modality="MR")
    p = predictor.predict("heart", known, checkpoint=checkpoints["heart"], explain=None)
    assert p.measurements["lv_cavity_area_mm2"] == pytest.approx(np.count_nonzero(p.mask == 1) * 2.25)
    vol = MedImage(np.random.default_rng(3).random((12, 20, 18)).astype(np.float32), spacing=(1.0, 1.0, 2.0), modality="MR")
    for key in ("hippocampus", "hippocampus2d"):
        p = predictor.predict("hippocampus", vol, checkpoint=checkpoints[key])
        assert p.mask.shape == (12, 20, 18) and p.explanation.shape == (12, 20, 18)
        expected = hippocampal_volumes(p.mask, (1.0, 1.0, 2.0))["hippocampal_volume_mm3"]
        assert p.measurements["hippocampal_volume_mm3"] == pytest.approx(expected)
    assert any("one by one" in n for n in p.notes)


def test_missing_model_says_how_to_train(predictor):
    with pytest.raises(ModelUnavailableError, match="python -m medlearn prepare retina"):
        predictor.predict("retina", grey((20, 20)))
    with pytest.raises(ModelUnavailableError):
        predictor.predict("breast", grey((20, 20)), checkpoint="/nonexistent/model.safetensors")


def test_bad_names_and_mismatched_checkpoint(predictor, checkpoints):
    with pytest.raises(UnknownNameError):
        predictor.predict("breast", grey((20, 20)), checkpoint=checkpoints["breast"], explain="lime")
    with pytest.raises(UnknownNameError):
        predictor.predict("kidney", grey((20, 20)), checkpoint=checkpoints["breast"])
    with pytest.raises(MedlearnInputError, match="trained for case"):
        predictor.predict("retina", grey((20, 20)), checkpoint=checkpoints["breast"])
    with pytest.raises(MedlearnInputError):
        predictor.predict("breast", np.zeros((20, 20)), checkpoint=checkpoints["breast"])


def test_best_run_found_through_the_run_store(checkpoints):
    store = RunStore()
    for ckpt, acc in ((checkpoints["breast"], 0.9), (None, 0.99)):
        run = store.create_run("breast", "resnet18", "phantoms", {})
        store.finish(run, "done", metrics={"accuracy": acc}, checkpoint=str(ckpt) if ckpt else None)
    p = predict("breast", grey((20, 20)), explain="none")  # the module-level default predictor
    assert p.checkpoint == str(checkpoints["breast"].resolve())
    with pytest.raises(ModelUnavailableError, match="No trained alexnet model"):
        predict("breast", grey((20, 20)), arch="alexnet")


def test_model_cache_is_shared_lru_and_reloads_changed_files(checkpoints, tmp_path):
    pred = Predictor(device="cpu", max_models=1)
    a = pred.load(checkpoints["breast"])
    assert pred.load(checkpoints["breast"]) is a
    pred.load(checkpoints["heart"])
    assert len(pred.cached_keys()) == 1 and pred.load(checkpoints["breast"]) is not a
    copy = tmp_path / "b.safetensors"
    copy.write_bytes(checkpoints["breast"].read_bytes())
    first = pred.load(copy)
    import os

    os.utime(copy, ns=(1, 1))  # a retrained checkpoint at the same path
    assert pred.load(copy) is not first
    assert all(not p.requires_grad for p in first.model.parameters())


def test_sessions_in_threads_get_their_own_answers(predictor, checkpoints):
    images = [grey((32, 32), seed=s, modality="MR") for s in (10, 11)]
    ck = checkpoints["heart"]
    reference = [predictor.predict("heart", im, checkpoint=ck) for im in images]
    out = {0: [], 1: []}

    def work(i):
        for n in range(8):
            explain = "gradcam" if (n + i) % 2 == 0 else "none"  # plain forwards race CAMs too
            out[i].append(predictor.predict("heart", images[i], checkpoint=ck, explain=explain))

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for i in (0, 1):
        for p in out[i]:
            np.testing.assert_array_equal(p.mask, reference[i].mask)
            if p.explanation is not None:
                np.testing.assert_allclose(p.explanation, reference[i].explanation, atol=1e-5)


def test_weights_note_tells_a_warm_start_from_scratch():
    from dataclasses import replace

    from medlearn.card import card_of
    from medlearn.cases import get_case
    from medlearn.predict import weights_note

    case = get_case("retina")
    card = card_of(untrained_meta("retina", "resnet18"))
    scratch = weights_note(card, case)
    warm = weights_note(replace(card, weights="trained by MedLearn on synthetic phantoms for Diabetic retinopathy, "
                                              "starting from MedLearn weights pre-trained on Breast ultrasound"), case)
    assert "trained from scratch" in scratch and "phantoms (not real patients)" in scratch
    assert "pre-trained on Breast ultrasound" in warm and "scratch" not in warm


def test_the_classical_baseline_is_served_by_predict_and_the_command_line(tmp_path, capsys):
    """Once seen: `predict --arch classic` said no model existed although `runs` listed it."""
    import json

    from PIL import Image

    from medlearn.cli import main
    from medlearn.train.recipes import train_recipe

    record = train_recipe("breast", "classic", n_train=16, n_val=6, input_size=32)
    assert record.status == "done" and record.checkpoint.endswith(".classic")
    image = grey((60, 70))
    pred = Predictor(device="cpu").predict("breast", image, arch="classic")
    assert pred.arch == "classic" and pred.explanation is None and pred.mask is None
    assert sum(pred.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert any("hand-crafted features" in n and "no Grad-CAM" in n for n in pred.notes)
    assert dict(pred.card)["training data"].startswith("synthetic phantoms")
    by_folder = Predictor(device="cpu").predict("breast", image, checkpoint=record.checkpoint, explain=None)
    assert by_folder.probabilities == pytest.approx(pred.probabilities)
    png = tmp_path / "us.png"
    Image.fromarray(image.pixels).save(png)
    assert main(["predict", "breast", str(png), "--arch", "classic", "--json", "--out", str(tmp_path / "o")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["arch"] == "classic" and row["probabilities"] == pytest.approx(pred.probabilities, abs=1e-6)
    assert main(["predict", "breast", str(png), "--checkpoint", record.checkpoint, "--json",
                 "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "classic"


def test_the_best_model_answers_not_the_newest(tmp_path):
    """Once seen: after a 2-epoch toy race every student's Predict used the newest, worst model."""
    from medlearn.cases import get_case
    from medlearn.predict import trained_models

    store = RunStore(tmp_path / "runs.sqlite")
    paths = {}
    for arch, value in (("resnet18", 0.81), ("alexnet", 0.12)):  # the toy run is the newer one
        kw = dict(width=8, input_size=32)
        meta = {**untrained_meta("breast", arch, **kw), "metrics": {"accuracy": value}}
        paths[arch] = save_checkpoint(get_model(arch, in_channels=1, num_classes=2, **kw), meta,
                                      tmp_path / f"{arch}.safetensors")
        run = store.create_run("breast", arch, "phantoms", {})
        store.finish(run, "done", metrics={"accuracy": value}, checkpoint=str(paths[arch]))
    ranked = trained_models(get_case("breast"), store)
    assert [m.arch for m in ranked] == ["resnet18", "alexnet"] and "accuracy 0.810" in ranked[0].label
    assert Predictor(device="cpu", store=store).find_checkpoint(get_case("breast"), None) == paths["resnet18"]


def test_runs_damaged_on_purpose_never_answer():
    from medlearn.predict import damaged

    assert damaged({"train_fraction": 0.1}) and damaged({"label_noise": 0.3})
    assert not damaged({}) and not damaged({"train_fraction": 1.0, "label_noise": 0.0, "time_budget_s": 40})


def test_each_training_data_keeps_its_best_model_and_real_data_answers_first(tmp_path):
    """A phantom-trained U-Net with a higher validation score must not hide the one trained on
    real photographs: scores on different data do not rank against each other."""
    from medlearn.cases import get_case
    from medlearn.predict import trained_models

    store = RunStore(tmp_path / "runs.sqlite")
    for arch, source, value in (("resnet18", "phantoms", 0.95), ("resnet18", "busi", 0.80),
                                ("alexnet", "phantoms", 0.90), ("resnet18", "busi", 0.70)):
        kw = dict(width=8, input_size=32)
        meta = {**untrained_meta("breast", arch, **kw), "metrics": {"accuracy": value}}
        path = save_checkpoint(get_model(arch, in_channels=1, num_classes=2, **kw), meta,
                               tmp_path / f"{arch}-{source}-{value}.safetensors")
        run = store.create_run("breast", arch, source, {})
        store.finish(run, "done", metrics={"accuracy": value}, checkpoint=str(path))
    ranked = trained_models(get_case("breast"), store)
    assert [(m.arch, m.source, m.value) for m in ranked] == [
        ("resnet18", "busi", 0.80), ("resnet18", "phantoms", 0.95), ("alexnet", "phantoms", 0.90)]
    assert "real: busi" in ranked[0].label
