"""ResNet18 and ResNet34 (torchvision) for 1- or 3-channel small images.

torchvision's networks unchanged except the stem: the first convolution takes
``in_channels``; for inputs of 64 pixels or less it becomes a 3x3 stride-1
convolution without the max-pool (as MedMNIST and CIFAR ResNets do), otherwise a
28-pixel image would shrink to 1x1 before the last stage. ``width`` is not used:
torchvision fixes ResNet's stage widths (64-512); the cost at 96 pixels is modest.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18, resnet34

from medlearn.models.classification.adapt import is_small, rebuild_conv
from medlearn.models.registry import register_model

PAPER = "He K, Zhang X, Ren S, Sun J. Deep residual learning for image recognition. CVPR 2016."
WIDTH_NOTE = "Not used: torchvision fixes ResNet's stage widths (64, 128, 256, 512)."


def adapt_resnet(model: nn.Module, in_channels: int, input_size: int | None) -> nn.Module:
    """Fit the stem of a torchvision ResNet to the channels and size of MedLearn's images."""
    if is_small(input_size):
        model.conv1 = rebuild_conv(model.conv1, in_channels, kernel_size=3, stride=1, padding=1)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = rebuild_conv(model.conv1, in_channels)
    return model


@register_model("resnet18", task="classification", spatial_dims=2, title="ResNet-18", paper=PAPER,
                library="torchvision", imagenet="resnet18", width_note=WIDTH_NOTE)
def build_resnet18(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                   input_size: int | None) -> nn.Module:
    """18 layers: 8 residual basic blocks in 4 stages. ``(B, C, H, W) -> (B, K)``."""
    return adapt_resnet(resnet18(num_classes=num_classes), in_channels, input_size)


@register_model("resnet34", task="classification", spatial_dims=2, title="ResNet-34", paper=PAPER,
                library="torchvision", imagenet="resnet34", width_note=WIDTH_NOTE)
def build_resnet34(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                   input_size: int | None) -> nn.Module:
    """34 layers: 16 residual basic blocks in 4 stages. ``(B, C, H, W) -> (B, K)``."""
    return adapt_resnet(resnet34(num_classes=num_classes), in_channels, input_size)
