"""VGG11 and VGG16 with batch normalisation (torchvision), channel-scaled by ``width``.

VGG's idea is stacks of 3x3 convolutions instead of large kernels. We build it with
torchvision's own ``VGG`` class and ``make_layers`` from its published layer lists
(``cfgs``), every channel count multiplied by ``width / 64``: width 64 is the paper's
network (and accepts ImageNet weights), width 16 has 1/16 of its compute and trains on
a CPU. The batch-norm variants train from scratch far more reliably than the originals.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.vgg import VGG, cfgs, make_layers

from medlearn.models.classification.adapt import mlp_head
from medlearn.models.registry import register_model

PAPER = ("Simonyan K, Zisserman A. Very deep convolutional networks for large-scale image "
         "recognition. ICLR 2015.")
WIDTH_NOTE = ("Every convolution has width/64 of the paper's channels and the fully connected "
              "layers 64 x width units (width 64 = the published VGG).")


def build_vgg(cfg: str, in_channels: int, num_classes: int, width: int, dropout: float) -> nn.Module:
    """VGG from a torchvision layer list (``"A"`` = VGG11, ``"D"`` = VGG16). ``(B, C, H, W) -> (B, K)``."""
    layers = [v if v == "M" else max(1, int(v) * width // 64) for v in cfgs[cfg]]
    features = make_layers(layers, batch_norm=True)
    features[0] = nn.Conv2d(in_channels, layers[0], kernel_size=3, padding=1)
    with torch.device("meta"):  # VGG.__init__ allocates the ImageNet head we replace; skip its cost
        model = VGG(features, num_classes=num_classes, init_weights=True, dropout=dropout)
    model.classifier = mlp_head(layers[-2] * 7 * 7, 64 * width, num_classes, dropout, dropout_first=False)
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):  # torchvision's VGG initialisation of the head
            nn.init.normal_(layer.weight, 0, 0.01)
            nn.init.zeros_(layer.bias)
    return model


@register_model("vgg11", task="classification", spatial_dims=2, title="VGG11", paper=PAPER,
                library="torchvision", min_size=32, imagenet="vgg11_bn", width_note=WIDTH_NOTE)
def build_vgg11(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                input_size: int | None, dropout: float = 0.5) -> nn.Module:
    """VGG11-BN: 8 convolutions in 5 blocks, 3 fully connected layers."""
    return build_vgg("A", in_channels, num_classes, width, dropout)


@register_model("vgg16", task="classification", spatial_dims=2, title="VGG16", paper=PAPER,
                library="torchvision", min_size=32, imagenet="vgg16_bn", width_note=WIDTH_NOTE)
def build_vgg16(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                input_size: int | None, dropout: float = 0.5) -> nn.Module:
    """VGG16-BN: 13 convolutions in 5 blocks, 3 fully connected layers."""
    return build_vgg("D", in_channels, num_classes, width, dropout)
