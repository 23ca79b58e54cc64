"""GoogLeNet / Inception v1 (torchvision) for 1- or 3-channel small images.

torchvision's network with its auxiliary classifiers switched off (they only help
very deep training on ImageNet) and no ImageNet input transform. The 7x7 stem takes
``in_channels``; for inputs of 64 pixels or less its stride drops from 2 to 1 so the
inception modules still see a few pixels. ``width`` is not used: inception modules
have hand-tuned branch widths (the compute is already small at 96 pixels).
"""

from __future__ import annotations

from torch import nn
from torchvision.models import GoogLeNet

from medlearn.models.classification.adapt import is_small, rebuild_conv
from medlearn.models.registry import register_model


@register_model(
    "googlenet", task="classification", spatial_dims=2, title="GoogLeNet (Inception v1)",
    paper="Szegedy C, et al. Going deeper with convolutions. CVPR 2015.",
    library="torchvision", min_size=32, imagenet="googlenet",
    width_note="Not used: GoogLeNet keeps its published inception widths.")
def build_googlenet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                    input_size: int | None, dropout: float = 0.2) -> nn.Module:
    """Nine inception modules with 1x1 bottlenecks, global average pooling. ``(B, C, H, W) -> (B, K)``."""
    model = GoogLeNet(num_classes=num_classes, aux_logits=False, transform_input=False,
                      init_weights=True, dropout=dropout)
    stride = 1 if is_small(input_size) else 2
    model.conv1.conv = rebuild_conv(model.conv1.conv, in_channels, stride=stride)
    return model
