"""``medlearn.ood``: feature vectors from the answering forward pass (two views), a
nearest-neighbour distance calibrated on validation images, and the verdict a student reads."""

import numpy as np
import pytest
import torch

from medlearn.data.phantoms import generate
from medlearn.ood import BANK_NAME, FAR, FeatureTap, distances, features_of, fit_familiarity, judge, read_banks, row
from medlearn.predict import Predictor
from medlearn.train.checkpoints import EXTRA_PREFIX, load_checkpoint, read_extra
from medlearn.train.recipes import train_recipe


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))


def test_tap_keeps_the_last_layer_input_and_early_statistics():
    net = Net()
    x = torch.randn(3, 1, 8, 8)
    with FeatureTap(net) as tap:
        net(x)
    expected = torch.relu(net.conv(x)).mean((2, 3)).detach().numpy()
    assert np.allclose(tap.features["last"], expected, atol=1e-6)
    early = tap.features["early"]  # the first third of 2 layers = the conv's input: mean and spread
    stats = np.stack([x.mean((2, 3))[:, 0].numpy(), x.flatten(2).std(-1)[:, 0].numpy()], 1)
    assert np.allclose(early, stats / np.linalg.norm(stats, axis=1, keepdims=True), atol=1e-5)
    assert not net.conv._forward_hooks and not net.head._forward_hooks  # hooks removed on exit
    assert set(row(tap.features, 1)) == {"last", "early"} and row(tap.features, 1)["last"].shape == (4,)


def test_images_unlike_the_training_ones_are_judged_unlike():
    torch.manual_seed(0)
    net = Net()
    rng = np.random.default_rng(0)
    like = lambda n: torch.from_numpy(rng.normal(0, 1, (n, 1, 8, 8)).astype(np.float32))  # noqa: E731
    stats, banks = fit_familiarity(net, like(40), like(20))
    assert banks["last"].dtype == np.float16 and banks["last"].shape == (40, 4) and stats["n_val"] == 20
    assert 0 < stats["last"]["p95"] <= stats["last"]["p99"] and stats["early"]["p99"] > 0
    new = features_of(net, like(50))
    levels = [judge(stats, banks, row(new, i)).level for i in range(50)]
    assert levels.count("typical") >= 40  # about 99 % of new images like them stay inside
    odd = torch.zeros(1, 1, 8, 8)
    odd[..., :4] = 50.0  # a bright half: other statistics and another direction in feature space
    verdict = judge(stats, banks, row(features_of(net, odd), 0))
    assert verdict.level in ("unusual", "unlike") and verdict.ratio > 1
    if verdict.ratio > FAR:
        assert verdict.level == "unlike" and "nothing reliable" in verdict.words
    assert judge(None, banks, row(features_of(net, odd), 0)) is None  # no calibration: no verdict
    assert distances(banks["last"], banks["last"][:3].astype(np.float32), k=1).max() < 1e-3  # its own neighbour


def test_a_trained_checkpoint_carries_its_calibration_and_predictions_use_it(tmp_path):
    record = train_recipe("breast", "alexnet", epochs=1, n_train=8, n_val=6, input_size=32, batch_size=4, width=4,
                          checkpoint_root=tmp_path)
    banks = read_banks(record.checkpoint)
    assert banks is not None and banks["last"].shape[0] == 8 and banks["early"].shape[0] == 8
    assert read_extra(record.checkpoint, f"{BANK_NAME}.early") is not None
    model, meta = load_checkpoint(record.checkpoint)  # the extra tensors are not the model's
    assert meta["familiarity"]["n_bank"] == 8 and not any(k.startswith(EXTRA_PREFIX) for k in model.state_dict())
    phantom = generate("breast", n=1, seed=99)[0]
    pred = Predictor(device="cpu").predict("breast", phantom.image, explain="gradcam", checkpoint=record.checkpoint)
    assert pred.familiarity is not None and pred.familiarity.level in ("typical", "unusual", "unlike")
    assert pred.summary()["familiarity"]["view"] in ("last", "early")
    plain = Predictor(device="cpu").predict("breast", phantom.image, explain=None, checkpoint=record.checkpoint)
    assert plain.familiarity.ratio == pytest.approx(pred.familiarity.ratio, abs=1e-3)  # CAM or not: same


def test_a_tiny_validation_split_cautions_and_calls_unlike_only_far_beyond():
    """Once seen: a U-Net trained on CHASE_DB1 (2 validation photographs) called a CHASE_DB1
    photograph "unlike anything it learnt from". The furthest of 2 is no 99th percentile, so
    such a model cautions, and says "unlike" only beyond FAR_FEW (a cat, not a child's eye)."""
    from medlearn.ood import FAR_FEW, MIN_VAL

    torch.manual_seed(0)
    net = Net()
    rng = np.random.default_rng(0)
    like = lambda n: torch.from_numpy(rng.normal(0, 1, (n, 1, 8, 8)).astype(np.float32))  # noqa: E731
    stats, banks = fit_familiarity(net, like(40), like(2))
    assert stats["n_val"] == 2 < MIN_VAL
    odd = torch.zeros(1, 1, 8, 8)
    odd[..., :4] = 50.0
    verdict = judge(stats, banks, row(features_of(net, odd), 0))
    assert verdict.ratio > FAR
    if verdict.ratio <= FAR_FEW:
        assert verdict.level == "unusual" and "nothing reliable" not in verdict.words
        assert "furthest of its 2 validation images" in verdict.words and "1 familiar image in 3" in verdict.words
    else:
        assert verdict.level == "unlike" and "furthest of its 2 validation images" in verdict.words
    bank = {"last": np.array([[1.0, 0.0]], np.float32), "early": np.array([[1.0, 0.0]], np.float32)}
    tiny = {"k": 1, "n_val": 2, "last": {"p99": 0.01}, "early": {"p99": 0.01}}
    for cos, level in ((0.97, "unusual"), (0.99 - 0.01 * FAR_FEW, "unlike")):  # distance 3x, then beyond FAR_FEW
        v = np.array([cos, np.sqrt(1 - cos ** 2)], np.float32)
        assert judge(tiny, bank, {"last": v, "early": v}).level == level


def test_no_view_is_calibrated_tighter_than_the_banks_precision():
    """float16 banks round cosine distances of nearly parallel vectors by about 1e-4 (a stored
    99th percentile of -1.3e-5 was seen): a view calibrated below RESOLUTION is read against it."""
    from medlearn.ood import RESOLUTION

    bank = {"last": np.array([[1.0, 0.0]], np.float32), "early": np.array([[0.0, 1.0]], np.float32)}
    stats = {"k": 1, "n_val": 100, "last": {"p99": 3e-5}, "early": {"p99": 0.05}}
    near = {"last": np.array([1.0, 0.01], np.float32), "early": np.array([0.0, 1.0], np.float32)}  # d(last) = 5e-5
    verdict = judge(stats, bank, near)
    assert verdict.level == "typical" and verdict.ratio <= 5e-5 / RESOLUTION + 1e-6
    far = {"last": np.array([1.0, 1.0], np.float32), "early": np.array([0.0, 1.0], np.float32)}  # d(last) = 0.29
    assert judge(stats, bank, far).level == "unlike" and judge(stats, bank, far).view == "last"


def test_early_statistics_of_a_megapixel_map_read_a_grid_and_stay_close():
    import medlearn.ood as ood

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1).eval()
    small, large = torch.rand(1, 3, 256, 256), torch.rand(1, 3, 1024, 960) * torch.linspace(0, 2, 960)
    assert ood._sampled(small) is small  # the usual inputs are read whole: exact statistics
    assert ood._sampled(large).shape[-2:] == (256, 240)  # every 4th point along each axis
    with torch.no_grad(), FeatureTap(conv) as tap:
        conv(large)
    flat = large.flatten(2)
    exact = torch.cat([flat.mean(-1), flat.std(-1)], 1).numpy()
    early = tap.features["early"]
    assert np.allclose(early, exact / np.linalg.norm(exact), rtol=0.01, atol=1e-3)


class ScoreHead(torch.nn.Module):
    """MONAI's U-Net's ending: a layer to the class scores, then a convolution on them."""

    def __init__(self):
        super().__init__()
        self.decoder = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.to_classes = torch.nn.Conv2d(6, 3, 1)
        self.on_scores = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.on_scores(self.to_classes(torch.relu(self.decoder(x))))


def test_a_convolution_on_the_class_scores_is_not_the_last_view():
    """The last view is the decoder's features, not the 3 class scores the final layer reads."""
    net = ScoreHead()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad(), FeatureTap(net) as tap:
        net(x)
    expected = torch.relu(net.decoder(x)).mean((2, 3)).detach().numpy()
    assert tap.features["last"].shape == (2, 6) and np.allclose(tap.features["last"], expected, atol=1e-6)


@pytest.mark.parametrize("name,dims", [("unet", 2), ("unet3d", 3)])
def test_monai_unets_last_view_is_wider_than_their_classes(name, dims):
    from medlearn.models.factory import get_model

    model = get_model(name, in_channels=1, num_classes=3, spatial_dims=dims, input_size=32).eval()
    with torch.no_grad(), FeatureTap(model) as tap:
        model(torch.rand(1, 1, *(32,) * dims))
    assert tap.features["last"].shape[1] > 3


def test_banks_of_another_view_say_stale_not_a_verdict():
    """A checkpoint whose banks were stored for another layer (an older MedLearn) gets no
    ratio and says how to get one; to_dict stays valid JSON."""
    import json

    bank = {"last": np.eye(3, dtype=np.float32), "early": np.eye(2, dtype=np.float32)}
    stats = {"k": 1, "n_val": 100, "last": {"p99": 0.1}, "early": {"p99": 0.1}}
    verdict = judge(stats, bank, {"last": np.ones(16, np.float32), "early": np.ones(2, np.float32)})
    assert verdict.level == "stale" and "Recalibrate it" in verdict.words
    assert json.loads(json.dumps(verdict.to_dict(), allow_nan=False))["ratio"] is None


def test_a_stale_checkpoint_is_recalibrated_on_its_own_split_weights_unchanged(tmp_path):
    """Banks an older MedLearn stored for another layer: recalibrate_familiarity rebuilds the
    split from the plan, stores banks that fit today's views, and leaves the weights alone."""
    from medlearn.ood import bank_tensors
    from medlearn.train.checkpoints import read_meta, save_weights, snapshot
    from medlearn.train.recipes import calibrate_familiarity, recalibrate_familiarity

    record = train_recipe("heart", "unet", epochs=1, n_train=8, n_val=6, input_size=32, batch_size=4, width=4,
                          checkpoint_root=tmp_path)
    model, meta = load_checkpoint(record.checkpoint)
    fresh = meta["familiarity"]
    old = {"last": np.eye(3, dtype=np.float16), "early": np.eye(3, dtype=np.float16)}  # the old 3-number view
    extra = {EXTRA_PREFIX + name: t for name, t in bank_tensors(old).items()}
    save_weights({**snapshot(model.state_dict()), **extra}, meta, record.checkpoint)
    phantom = generate("heart", n=1, seed=99)[0]
    assert Predictor(device="cpu").predict("heart", phantom.image, explain=None,
                                           checkpoint=record.checkpoint).familiarity.level == "stale"
    calibration = recalibrate_familiarity(record.checkpoint)
    assert calibration["n_val"] == fresh["n_val"] and calibration["last"]["p99"] == pytest.approx(
        fresh["last"]["p99"], rel=1e-4)  # the same split, the same numbers as at the end of training
    again, _ = load_checkpoint(record.checkpoint)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    pred = Predictor(device="cpu").predict("heart", phantom.image, explain=None, checkpoint=record.checkpoint)
    assert pred.familiarity.level in ("typical", "unusual", "unlike")
    assert calibrate_familiarity(model, *[type("D", (), {"images": torch.zeros(1, 1, 32, 32)})()] * 2,
                                 record.checkpoint, 0, "cpu") is False  # too few images: nothing stored
    assert read_meta(record.checkpoint)["familiarity"] == calibration


def test_recalibrating_a_checkpoint_without_a_plan_says_why(tmp_path):
    from medlearn.errors import MedlearnInputError
    from medlearn.train.checkpoints import save_weights
    from medlearn.train.recipes import recalibrate_familiarity

    path = save_weights(Net().state_dict(), {"name": "net"}, tmp_path / "old.safetensors")
    with pytest.raises(MedlearnInputError, match="Train it again"):
        recalibrate_familiarity(path)
