"""Every registered network: output shapes in 2D/3D, 1 and 3 channels, one backward step."""

from __future__ import annotations

import pytest
import torch

from medlearn.models import get_model, get_spec, list_models

CASES = [(s.name, d) for s in list_models() if s.framework == "torch" for d in s.spatial_dims]

SIZE = 32


@pytest.mark.parametrize("name, dims", CASES)
@pytest.mark.parametrize("channels", [1, 3])
def test_forward_shape(name, dims, channels):
    spec = get_spec(name)
    batch = 2 if dims == 2 else 1
    net = get_model(name, in_channels=channels, num_classes=3, spatial_dims=dims, width=8, input_size=SIZE)
    net.eval()
    with torch.no_grad():
        out = net(torch.rand(batch, channels, *(SIZE,) * dims))
    expected = (batch, 3, *(SIZE,) * dims) if spec.is_segmentation else (batch, 3)
    assert out.shape == expected


@pytest.mark.parametrize("name, dims", CASES)
def test_one_training_step_changes_every_weight(name, dims):
    net = get_model(name, in_channels=1, num_classes=2, spatial_dims=dims, width=8, input_size=SIZE)
    if getattr(net, "computes_own_loss", False):
        pytest.skip("trains from label maps, model(x, target): its own tests (test_detection, test_maskrcnn)")
    x = torch.rand(2, 1, *(SIZE,) * dims)
    weights = [p for p in net.parameters() if p.dim() > 1]  # biases before batch norm get no gradient
    before = [p.detach().clone() for p in weights]
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    out = net(x)
    target = torch.zeros(out.shape[0], *out.shape[2:], dtype=torch.long)
    torch.nn.functional.cross_entropy(out, target).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    opt.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, weights))


@pytest.mark.parametrize("name", ["fcn", "unet", "segnet", "pspnet", "gnni_unet", "mifnet"])
def test_segmenters_keep_non_square_sizes(name):
    net = get_model(name, in_channels=1, num_classes=2, width=4).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 1, 48, 64)).shape == (1, 2, 48, 64)


def test_small_inputs_get_a_gentle_stem():
    small = get_model("resnet18", in_channels=1, num_classes=2, input_size=32)
    large = get_model("resnet18", in_channels=1, num_classes=2, input_size=128)
    assert small.conv1.stride == (1, 1) and isinstance(small.maxpool, torch.nn.Identity)
    assert large.conv1.stride == (2, 2) and large.conv1.in_channels == 1
    assert get_model("alexnet", in_channels=1, num_classes=2, input_size=224).features[0].stride == (4, 4)
    assert get_model("alexnet", in_channels=1, num_classes=2, input_size=96).features[0].stride == (2, 2)


def test_googlenet_has_no_auxiliary_classifiers():
    net = get_model("googlenet", in_channels=3, num_classes=4)
    assert net.aux1 is None and net.aux2 is None
    assert net.train()(torch.rand(2, 3, 32, 32)).shape == (2, 4)


def test_width_scales_own_and_vgg_networks():
    def n(name, w):
        return sum(p.numel() for p in get_model(name, in_channels=1, num_classes=2, width=w).parameters())
    for name in ("unet", "segnet", "vgg16", "resnet3d"):
        assert n(name, 8) < n(name, 16), name
    vgg = get_model("vgg16", in_channels=3, num_classes=2, width=64)
    assert vgg.features[0].out_channels == 64 and vgg.classifier[0].out_features == 4096
