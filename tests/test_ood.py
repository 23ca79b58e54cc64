"""``medlearn.ood``: feature vectors from the answering forward pass, a nearest-neighbour
distance calibrated on validation images, and the verdict a student reads."""

import numpy as np
import pytest
import torch

from medlearn.ood import FAR, BANK_NAME, FeatureTap, distances, features_of, fit_familiarity, judge
from medlearn.predict import Predictor
from medlearn.train.checkpoints import EXTRA_PREFIX, load_checkpoint, read_extra
from medlearn.train.recipes import train_recipe
from medlearn.data.phantoms import generate


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))


def test_tap_keeps_the_input_of_the_last_layer_that_ran():
    net = Net()
    x = torch.randn(3, 1, 8, 8)
    with FeatureTap(net) as tap:
        net(x)
    expected = torch.relu(net.conv(x)).mean((2, 3)).detach().numpy()
    assert np.allclose(tap.features, expected, atol=1e-6)
    assert not net.conv._forward_hooks and not net.head._forward_hooks  # hooks removed on exit


def test_images_unlike_the_training_ones_are_judged_unlike():
    torch.manual_seed(0)
    net = Net()
    rng = np.random.default_rng(0)
    like = lambda n: torch.from_numpy(rng.normal(0, 1, (n, 1, 8, 8)).astype(np.float32))  # noqa: E731
    stats, bank = fit_familiarity(net, like(40), like(20))
    assert bank.dtype == np.float16 and bank.shape == (40, 4) and stats["n_val"] == 20
    assert 0 < stats["p95"] <= stats["p99"]
    typical = [judge(stats, bank, f).level for f in features_of(net, like(50))]
    assert typical.count("typical") >= 40  # about 99 % of new images like them stay inside
    odd = torch.zeros(1, 1, 8, 8)
    odd[..., :4] = 50.0  # a bright half: another direction in feature space
    verdict = judge(stats, bank, features_of(net, odd)[0])
    assert verdict.level in ("unusual", "unlike") and verdict.distance > stats["p99"]
    if verdict.distance > FAR * stats["p99"]:
        assert verdict.level == "unlike" and "nothing reliable" in verdict.words
    assert judge(None, bank, features_of(net, odd)[0]) is None  # no calibration: no verdict
    assert distances(bank, bank[:3].astype(np.float32), k=1).max() < 1e-3  # a bank vector is its own neighbour


def test_a_trained_checkpoint_carries_its_calibration_and_predictions_use_it(tmp_path):
    record = train_recipe("breast", "alexnet", epochs=1, n_train=8, n_val=6, input_size=32, batch_size=4, width=4,
                          checkpoint_root=tmp_path)
    bank = read_extra(record.checkpoint, BANK_NAME)
    assert bank is not None and bank.shape[0] == 8
    model, meta = load_checkpoint(record.checkpoint)  # the extra tensor is not the model's
    assert meta["familiarity"]["n_bank"] == 8 and not any(k.startswith(EXTRA_PREFIX) for k in model.state_dict())
    phantom = generate("breast", n=1, seed=99)[0]
    pred = Predictor(device="cpu").predict("breast", phantom.image, explain="gradcam", checkpoint=record.checkpoint)
    assert pred.familiarity is not None and pred.familiarity.level in ("typical", "unusual", "unlike")
    assert pred.summary()["familiarity"]["p99"] == pytest.approx(meta["familiarity"]["p99"], abs=1e-3)
    plain = Predictor(device="cpu").predict("breast", phantom.image, explain=None, checkpoint=record.checkpoint)
    assert plain.familiarity.distance == pytest.approx(pred.familiarity.distance, abs=1e-3)  # CAM or not: same
