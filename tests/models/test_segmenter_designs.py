"""Each segmenter does what its paper says: unpooling indices, group norm, fusion, pyramids."""

from __future__ import annotations

import torch
from torch import nn

from medlearn.models import get_model


def _types(net: nn.Module) -> set[type]:
    return {type(m) for m in net.modules()}


def test_segnet_upsamples_with_pooling_indices_only():
    net = get_model("segnet", in_channels=1, num_classes=2, width=4)
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert pools and all(p.return_indices for p in pools)
    assert nn.MaxUnpool2d in _types(net)
    assert not {nn.ConvTranspose2d, nn.Upsample} & _types(net)  # nothing learned in upsampling
    # the unpooled map is sparse: non-zero exactly where the encoder's maxima were
    x = torch.rand(1, 4, 8, 8)
    pooled, idx = net.pool(x)
    unpooled = net.unpool(pooled, idx)
    assert (unpooled != 0).sum() == pooled.numel()


def test_gnni_unet_uses_group_norm_and_nearest_upsampling():
    for dims in (2, 3):
        net = get_model("gnni_unet", in_channels=1, num_classes=2, spatial_dims=dims, width=8)
        types = _types(net)
        assert nn.GroupNorm in types
        assert not any(issubclass(t, nn.modules.batchnorm._NormBase) for t in types)
        ups = [m for m in net.modules() if isinstance(m, nn.Upsample)]
        assert len(ups) == 4 and all(u.mode == "nearest" for u in ups)
        assert not any(isinstance(m, (nn.ConvTranspose2d, nn.ConvTranspose3d)) for m in net.modules())


def test_unet_concatenates_skips():
    net = get_model("unet", in_channels=1, num_classes=2, width=4)
    modes = [m.mode for m in net.modules() if type(m).__name__ == "SkipConnection"]
    assert modes and set(modes) == {"cat"}


def test_fcn_fuses_coarse_and_fine_scores_with_learned_deconvolutions():
    net = get_model("fcn", in_channels=1, num_classes=3, width=4)
    deconvs = [m for m in net.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 3 and all(d.weight.requires_grad for d in deconvs)
    seen = []
    net.score8.register_forward_hook(lambda m, i, o: seen.append(o.shape[-1]))
    net.score4.register_forward_hook(lambda m, i, o: seen.append(o.shape[-1]))
    net(torch.rand(1, 1, 64, 64))
    assert seen == [8, 16]  # scores from the /8 and /4 pooling stages were fused


def test_pspnet_pools_into_1_2_3_6_bins():
    net = get_model("pspnet", in_channels=1, num_classes=2, width=4)
    bins = [m.output_size for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    assert bins == [1, 2, 3, 6]
    net.train()(torch.rand(1, 1, 32, 32))  # batch of one trains (no batch norm on 1x1 bins)


def test_mifnet_feeds_the_image_at_half_and_quarter_scale():
    net = get_model("mifnet", in_channels=3, num_classes=2, width=4)
    sizes = []
    for branch in net.inputs:
        branch.register_forward_hook(lambda m, i, o: sizes.append(tuple(i[0].shape[1:])))
    net(torch.rand(1, 3, 64, 64))
    assert sizes == [(3, 32, 32), (3, 16, 16)]
