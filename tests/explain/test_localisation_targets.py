import numpy as np
import pytest
import torch
from cam_helpers import TinySegmenter
from torchvision.models import resnet18

from medlearn.errors import MedlearnInputError
from medlearn.explain import find_target_layer, localisation_score


def test_localisation_score_on_a_phantom():
    lesion = np.zeros((20, 20), bool)
    lesion[5:10, 5:10] = True
    cam = np.zeros((20, 20))
    cam[7, 7] = 1.0
    cam[15, 15] = 0.5
    s = localisation_score(cam, lesion)
    assert s["peak_in_lesion"] and s["pointing_game"]
    assert s["energy_in_lesion"] == pytest.approx(1 / 1.5)
    assert s["lesion_fraction"] == pytest.approx(25 / 400)
    miss = np.zeros((20, 20))
    miss[19, 19] = 1.0
    s = localisation_score(miss, lesion, tolerance_px=5)
    assert not s["peak_in_lesion"] and not s["pointing_game"] and s["energy_in_lesion"] == 0.0
    assert s["peak_distance_px"] == pytest.approx(np.hypot(10, 10))


def test_localisation_errors():
    with pytest.raises(MedlearnInputError):
        localisation_score(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(MedlearnInputError):
        localisation_score(np.zeros((4, 4)), np.ones((5, 5)))


def test_target_layer_default_and_overrides():
    seg = TinySegmenter()
    assert find_target_layer(seg, task="segmentation") is seg.body[2]  # skips the 1x1 head
    assert find_target_layer(seg) is seg.head
    net = resnet18(num_classes=2)
    assert find_target_layer(net, "resnet18") is net.layer4[-1]
    wrapped = torch.nn.Sequential(net)
    assert find_target_layer(wrapped, "resnet18") is net.layer4[-1]  # looks one wrapper deep
    assert find_target_layer(torch.nn.Conv2d(1, 1, 1), "resnet18") is not None  # falls back to last conv
