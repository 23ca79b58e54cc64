"""Registry contract: names, filters, duplicate refusal, typed errors for bad configs."""

from __future__ import annotations

import pytest
import torch

from medlearn.cases import list_cases
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.models import get_model, list_models, register_model
from medlearn.models.factory import RANDOM_INIT

REQUIRED = {"alexnet", "resnet18", "resnet3d", "classic", "fcn", "unet", "segnet", "pspnet",
            "unet3d", "gnni_unet", "mifnet", "vgg11", "vgg16", "googlenet", "resnet34"}


def test_every_required_name_is_registered():
    assert REQUIRED <= {s.name for s in list_models()}


def test_every_case_architecture_exists_for_its_task():
    for case in list_cases():
        names = {s.name for s in list_models(case.task.kind)}
        assert set(case.recipe.architectures) <= names, case.key


def test_filters():
    seg3d = {s.name for s in list_models("segmentation", spatial_dims=3)}
    assert {"unet", "unet3d", "gnni_unet"} <= seg3d and "segnet" not in seg3d
    assert all(s.task == "classification" for s in list_models("classification"))
    with pytest.raises(UnknownNameError):
        list_models("captioning")  # not a task kind (classification, segmentation, detection are)


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="twice"):
        register_model("unet", task="segmentation", title="x", paper="x", library="x")(lambda **kw: None)


def test_unknown_name_lists_known_ones():
    with pytest.raises(UnknownNameError, match="resnet18"):
        get_model("resnet1000", in_channels=1, num_classes=2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="fcn", spatial_dims=3), "2D images only"),
    (dict(name="resnet3d", spatial_dims=2), "3D images only"),
    (dict(name="unet", width=0), "width"),
    (dict(name="unet", in_channels=0), "in_channels"),
    (dict(name="unet", input_size=50), "multiple of 16"),
    (dict(name="alexnet", input_size=8), "at least 32"),
    (dict(name="unet", colour="red"), "no option colour"),
    (dict(name="unet", levels=9), "levels"),
    (dict(name="resnet3d", depth=7), "depth"),
    (dict(name="classic", num_classes=1), "num_classes"),
    (dict(name="alexnet", dropout=2.0), "cannot be built"),
    (dict(name="classic", classifier="svm"), "Unknown classifier"),
])
def test_impossible_configs_raise_input_errors(kwargs, match):
    args = dict(in_channels=1, num_classes=2) | kwargs
    with pytest.raises(MedlearnInputError, match=match):
        get_model(args.pop("name"), **args)


def test_default_dims_are_the_models_own():
    assert get_model("unet3d", in_channels=1, num_classes=2).medlearn_spec == "unet3d"
    net = get_model("resnet3d", in_channels=1, num_classes=2)
    assert net(torch.rand(1, 1, 32, 32, 32)).shape == (1, 2)


@pytest.mark.parametrize("shape, match", [
    ((1, 3, 32, 32), "1-channel"),
    ((1, 1, 32), "expects a batch shaped"),
    ((1, 1, 40, 40), "multiple of 16"),
    ((1, 1, 8, 8), "at least 16"),
])
def test_wrong_tensors_raise_input_errors_before_pytorch(shape, match):
    net = get_model("unet", in_channels=1, num_classes=2)
    assert net.medlearn_weights == RANDOM_INIT
    with pytest.raises(MedlearnInputError, match=match):
        net(torch.rand(*shape))
