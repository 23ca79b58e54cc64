"""Weights honesty: ImageNet only from the local cache, partial transfers counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import ResNet18_Weights, resnet18

from medlearn.errors import MedlearnInputError
from medlearn.models import get_model, list_models, load_backbone_from, weights_status
from medlearn.models.factory import RANDOM_INIT
from medlearn.models.pretrained import IMAGENET_CACHED, IMAGENET_NONE, IMAGENET_OFFLINE, read_state_dict


@pytest.fixture
def empty_hub(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_status_is_honest_without_a_cache(empty_hub):
    assert weights_status("resnet18") == IMAGENET_OFFLINE
    assert weights_status("unet") == IMAGENET_NONE
    with pytest.raises(MedlearnInputError, match="offline"):
        get_model("resnet18", in_channels=3, num_classes=2, pretrained=True)
    with pytest.raises(MedlearnInputError, match="no ImageNet weights exist"):
        get_model("segnet", in_channels=1, num_classes=2, pretrained=True)


def test_every_model_says_it_starts_from_scratch():
    for spec in list_models():
        net = get_model(spec.name, in_channels=1, num_classes=2, width=4)
        assert isinstance(net.medlearn_weights, str) and net.medlearn_weights
        if spec.framework == "torch":
            assert weights_status(net) == RANDOM_INIT


def test_cached_imagenet_weights_are_loaded_and_adapted_to_grey(empty_hub):
    empty_hub.mkdir(parents=True)
    reference = resnet18().state_dict()  # stands in for the real download: same names, shapes
    torch.save(reference, empty_hub / Path(ResNet18_Weights.DEFAULT.url).name)
    assert weights_status("resnet18") == IMAGENET_CACHED
    net = get_model("resnet18", in_channels=1, num_classes=4, input_size=128, pretrained=True)
    assert net.medlearn_weights == IMAGENET_CACHED
    assert torch.equal(net.layer3[1].conv2.weight, reference["layer3.1.conv2.weight"])
    assert torch.allclose(net.conv1.weight, reference["conv1.weight"].sum(1, keepdim=True))
    assert not torch.equal(net.fc.weight[:4], reference["fc.weight"][:4])  # new 4-class head
    assert "of 122 tensors loaded" in net.medlearn_weights_detail


def test_medlearn_checkpoint_warm_start(tmp_path):
    donor = get_model("unet", in_channels=1, num_classes=3, width=4)
    torch.save(donor.state_dict(), tmp_path / "donor.pt")
    student = get_model("unet", in_channels=1, num_classes=2, width=4)
    report = load_backbone_from(student, read_state_dict(tmp_path / "donor.pt"), source="heart phantoms")
    assert student.medlearn_weights == "MedLearn weights pre-trained on heart phantoms"
    assert report.skipped and len(report.copied) > 0.9 * report.total  # all but the output layer
    name = report.copied[0]
    assert torch.equal(student.state_dict()[name], donor.state_dict()[name])


def test_warm_start_refuses_a_foreign_architecture(tmp_path):
    student = get_model("segnet", in_channels=1, num_classes=2, width=4)
    donor = get_model("resnet3d", in_channels=1, num_classes=2, width=4).state_dict()
    with pytest.raises(MedlearnInputError, match="different"):
        load_backbone_from(student, donor)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(MedlearnInputError, match="Could not read"):
        read_state_dict(tmp_path / "junk.pt")
