"""AlexNet (torchvision) adapted to 1- or 3-channel images of 32-224 pixels.

Changes to torchvision's network, and why:
* the first convolution takes ``in_channels``; its stride is 2 instead of 4 below
  160 pixels, so a 96-pixel image still reaches the paper's 6x6 final feature map;
* the three max-pools get padding 1, so even a 32-pixel image survives them;
* the two fully connected layers have ``64 * width`` units (width 64 = the
  paper's 4096), because 4096-wide layers would dominate CPU training.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import alexnet

from medlearn.models.classification.adapt import materialise, mlp_head, rebuild_conv
from medlearn.models.registry import register_model


@register_model(
    "alexnet", task="classification", spatial_dims=2, title="AlexNet",
    paper="Krizhevsky A, Sutskever I, Hinton GE. ImageNet classification with deep "
          "convolutional neural networks. NeurIPS 2012.",
    library="torchvision", min_size=32, imagenet="alexnet",
    width_note="Fully connected layers have 64 x width units (width 64 = the paper's 4096).")
def build_alexnet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                  input_size: int | None, dropout: float = 0.5) -> nn.Module:
    """AlexNet: 5 convolutions, 3 fully connected layers. ``(B, C, H, W) -> (B, K)``."""
    with torch.device("meta"):  # skip allocating the ImageNet head replaced below
        model = alexnet(num_classes=num_classes, dropout=dropout)
    stride = 4 if input_size is not None and input_size >= 160 else 2
    model.features[0] = rebuild_conv(model.features[0], in_channels, stride=stride)
    for i in (2, 5, 12):
        model.features[i] = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    model.classifier = mlp_head(256 * 6 * 6, 64 * width, num_classes, dropout, dropout_first=True)
    return materialise(model)
