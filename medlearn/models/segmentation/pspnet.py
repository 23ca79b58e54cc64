"""PSPNet: a pyramid pooling module for global context on a small dilated backbone.

MedLearn's own compact version. segmentation-models-pytorch has a PSPNet, but it is
not a dependency (it brings timm and ImageNet encoders sized for GPUs), and the idea
fits in one file: a VGG-style backbone down to 1/8 with a dilated last stage (as the
paper's dilated ResNet), then the features average-pooled into 1x1, 2x2, 3x3 and 6x6
bins, reduced by 1x1 convolutions, upsampled and concatenated with the features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medlearn.models.registry import register_model
from medlearn.models.segmentation.blocks import conv_block

BINS = (1, 2, 3, 6)


class PyramidPooling(nn.Module):
    """``(B, C, h, w) -> (B, 2C, h, w)``: the input plus one branch of C/4 channels per bin.

    Branches have no batch norm so a 1x1 bin also trains with batch size 1.
    """

    def __init__(self, channels: int, bins: tuple[int, ...] = BINS) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(channels, channels // len(bins), 1),
                          nn.ReLU(inplace=True)) for b in bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pooled = [F.interpolate(branch(x), size=size, mode="bilinear", align_corners=False)
                  for branch in self.branches]
        return torch.cat([x, *pooled], dim=1)


class PSPNet(nn.Module):
    """``(B, C, H, W) -> (B, K, H, W)`` logits; any H, W of at least 16.

    Args:
        in_channels: image channels.
        num_classes: label values incl. background.
        width: channels of the first backbone stage (then 2x, 4x, 8x).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, dropout: float = 0.1) -> None:
        super().__init__()
        w = width
        self.backbone = nn.Sequential(
            conv_block(in_channels, w), nn.MaxPool2d(2), conv_block(w, 2 * w), nn.MaxPool2d(2),
            conv_block(2 * w, 4 * w), nn.MaxPool2d(2), conv_block(4 * w, 8 * w, dilation=2))
        self.ppm = PyramidPooling(8 * w)
        self.head = nn.Sequential(
            nn.Conv2d(16 * w, 4 * w, 3, padding=1, bias=False), nn.BatchNorm2d(4 * w),
            nn.ReLU(inplace=True), nn.Dropout2d(dropout), nn.Conv2d(4 * w, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.ppm(self.backbone(x)))
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


@register_model(
    "pspnet", task="segmentation", spatial_dims=2, title="PSPNet (pyramid pooling)",
    paper="Zhao H, Shi J, Qi X, Wang X, Jia J. Pyramid scene parsing network. CVPR 2017.",
    library="MedLearn", width_note="Channels of the first backbone stage (then 2x, 4x, 8x).")
def build_pspnet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                 input_size: int | None, dropout: float = 0.1) -> nn.Module:
    return PSPNet(in_channels, num_classes, width, dropout)
