"""BatchingPredictor: concurrent requests share one forward + CAM and get their own answers."""

import threading

import numpy as np
import pytest
import torch

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.models import get_model
from medlearn.predict import Predictor
from medlearn.serving import BatchingPredictor
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta

SPECS = {
    "breast": ("alexnet", dict(in_channels=1, num_classes=2, spatial_dims=2, width=8, input_size=32)),
    "heart": ("unet", dict(in_channels=1, num_classes=3, spatial_dims=2, width=8, input_size=32)),
    "lung": ("resnet3d", dict(in_channels=1, num_classes=2, spatial_dims=3, width=8, input_size=16)),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    out = {}
    for case, (arch, kw) in SPECS.items():
        meta = untrained_meta(case, arch, width=kw["width"], input_size=kw["input_size"])
        out[case] = save_checkpoint(get_model(arch, **kw), meta, root / f"{case}.safetensors")
    return out


def grey(shape, seed, modality="US"):
    return MedImage(np.random.default_rng(seed).integers(0, 255, shape).astype(np.uint8), modality=modality)


def together(fn, items):
    """``fn(item)`` for every item, each in its own thread, all released at once."""
    barrier, out = threading.Barrier(len(items)), [None] * len(items)

    def work(i):
        barrier.wait()
        try:
            out[i] = fn(items[i])
        except Exception as exc:  # reported by the assertion below
            out[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def assert_same(batched, single):
    assert batched.prediction == single.prediction and batched.class_index == single.class_index
    if single.probabilities is not None:
        for name, p in single.probabilities.items():
            assert batched.probabilities[name] == pytest.approx(p, abs=1e-4)
    if single.mask is not None:
        assert (batched.mask != single.mask).mean() < 1e-3  # an argmax tie may flip a pixel at most
    if single.explanation is not None:
        assert batched.explanation.shape == single.explanation.shape
        assert np.abs(batched.explanation - single.explanation).max() < 1e-4
    assert batched.measurements.keys() == single.measurements.keys()


@pytest.mark.parametrize("case,explain", [("breast", "gradcam"), ("breast", "none"), ("heart", "gradcam"),
                                          ("heart", "gradcam++")])
def test_batched_answers_equal_single_ones(checkpoints, case, explain):
    plain = Predictor(device="cpu")
    server = BatchingPredictor(plain, max_wait_ms=300)
    modality = "MR" if case == "heart" else "US"
    images = [grey((40 + 4 * i, 48), seed=i, modality=modality) for i in range(4)]
    answers = together(lambda im: server.predict(case, im, explain=explain, checkpoint=checkpoints[case]), images)
    assert max(server.batch_sizes) > 1, server.batch_sizes  # the batch path ran
    for image, batched in zip(images, answers):
        assert not isinstance(batched, Exception), batched
        single = plain.predict(case, image, explain=explain, checkpoint=checkpoints[case])
        assert_same(batched, single)
        assert batched.latency_ms >= batched.timings["forward"] > 0


def test_twenty_callers_get_their_own_answers_from_few_forward_passes(checkpoints):
    plain = Predictor(device="cpu")
    server = BatchingPredictor(plain, max_wait_ms=300)
    model = plain.load(checkpoints["breast"]).model
    calls = []
    hook = model.register_forward_hook(lambda *a: calls.append(1))
    images = [grey((32, 32), seed=100 + i) for i in range(20)]
    try:
        answers = together(lambda im: server.predict("breast", im, checkpoint=checkpoints["breast"]), images)
    finally:
        hook.remove()
    assert len(calls) <= 5, f"{len(calls)} forward passes for 20 requests: the batch path was not used"
    assert sum(server.batch_sizes.values()) == len(calls)
    for image, batched in zip(images, answers):  # each caller's answer is its own image's
        single = plain.predict("breast", image, checkpoint=checkpoints["breast"])
        assert_same(batched, single)


def test_what_the_batch_cannot_do_falls_back_to_the_plain_predictor(checkpoints):
    plain = Predictor(device="cpu")
    server = BatchingPredictor(plain)
    volume = grey((5, 24, 24), seed=3, modality="MR")
    got = server.predict("breast", volume, checkpoint=checkpoints["breast"])  # central slice of a volume
    assert_same(got, plain.predict("breast", volume, checkpoint=checkpoints["breast"]))
    ct = grey((12, 20, 20), seed=4, modality="CT")
    got = server.predict("lung", ct, checkpoint=checkpoints["lung"])  # a 3D model
    assert_same(got, plain.predict("lung", ct, checkpoint=checkpoints["lung"]))
    assert not server.batch_sizes  # neither went through a batch


def test_bad_requests_raise_typed_errors(checkpoints):
    server = BatchingPredictor(Predictor(device="cpu"))
    image = grey((30, 30), seed=5)
    with pytest.raises(UnknownNameError):
        server.predict("breast", image, explain="no-such-cam", checkpoint=checkpoints["breast"])
    with pytest.raises(MedlearnInputError, match="MedImage"):
        server.predict("breast", np.zeros((30, 30)), checkpoint=checkpoints["breast"])
    with pytest.raises(MedlearnInputError, match="trained for case"):
        server.predict("retina", image, checkpoint=checkpoints["breast"])


def test_a_failing_batch_reaches_every_caller_and_the_next_batch_works(checkpoints, monkeypatch):
    import medlearn.serving as serving

    server = BatchingPredictor(Predictor(device="cpu"), max_wait_ms=200)
    images = [grey((32, 32), seed=i) for i in range(3)]

    def broken(*args, **kwargs):
        raise MedlearnInputError("broken on purpose")

    monkeypatch.setattr(serving, "forward", broken)
    answers = together(lambda im: server.predict("breast", im, checkpoint=checkpoints["breast"]), images)
    assert all(isinstance(a, MedlearnInputError) for a in answers)
    monkeypatch.undo()
    assert server.predict("breast", images[0], checkpoint=checkpoints["breast"]).probabilities
