"""Architecture gallery data: rows per layer, hooks removed, modes restored."""

from __future__ import annotations

import pytest

from medlearn.errors import MedlearnInputError
from medlearn.models import count_parameters, describe_model, get_model


def test_segnet_rows_and_clean_up():
    net = get_model("segnet", in_channels=1, num_classes=2, width=4).train()
    rows = describe_model(net, (1, 1, 32, 32))
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())
    types = [r["type"] for r in rows]
    assert "MaxUnpool2d" in types and rows[-1]["output_shape"] == (1, 2, 32, 32)
    pool = next(r for r in rows if r["type"] == "MaxPool2d")
    assert pool["output_shape"] == (1, 4, 16, 16)  # first of (values, indices)
    assert sum(r["params"] for r in rows) == count_parameters(net)  # leaves own every parameter


def test_major_modules_only():
    net = get_model("resnet18", in_channels=1, num_classes=3, input_size=32)
    rows = describe_model(net, (1, 1, 32, 32), max_depth=1)
    assert [r["layer"] for r in rows] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                          "layer3", "layer4", "avgpool", "fc"]
    assert rows[7]["output_shape"] == (1, 512, 4, 4) and rows[-1]["output_shape"] == (1, 3)


def test_counts_and_refusals():
    net = get_model("unet", in_channels=1, num_classes=2, width=4)
    for p in net.parameters():
        p.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == 0 < count_parameters(net)
    classic = get_model("classic", in_channels=1, num_classes=2)
    with pytest.raises(MedlearnInputError):
        describe_model(classic, (1, 1, 32, 32))
    with pytest.raises(MedlearnInputError, match="multiple of 16"):
        describe_model(net, (1, 1, 40, 40))
