"""FCN: a fully convolutional network with skip fusion (Long et al., FCN-8s style).

MedLearn's own small version: torchvision's ``fcn_resnet50`` (35M parameters,
ResNet-50 backbone, bilinear heads) is far too heavy for CPU teaching and lacks the
paper's learned deconvolutions. Here a VGG-like encoder of 4 pooling stages (so sizes
divisible by 16 work) ends in "fully connected layers as convolutions"; class scores
from the /16 head are upsampled by learned deconvolutions (bilinear init) and summed
with scores from the /8 and /4 pooling stages, then upsampled 4x to the input size.
"""

from __future__ import annotations

import torch
from torch import nn

from medlearn.models.registry import register_model
from medlearn.models.segmentation.blocks import bilinear_deconv, conv_block


class FCN(nn.Module):
    """``(B, C, H, W) -> (B, K, H, W)`` logits; H and W multiples of 16.

    Args:
        in_channels: image channels.
        num_classes: label values incl. background.
        width: channels of the first stage (then 2x, 4x, 8x; the head 16x).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        w = width
        self.stages = nn.ModuleList([conv_block(in_channels, w), conv_block(w, 2 * w),
                                     conv_block(2 * w, 4 * w, 3), conv_block(4 * w, 8 * w, 3)])
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(  # fc6 / fc7 of VGG, as convolutions
            nn.Conv2d(8 * w, 16 * w, 3, padding=1), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
            nn.Conv2d(16 * w, 16 * w, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
            nn.Conv2d(16 * w, num_classes, 1))
        self.score8 = nn.Conv2d(4 * w, num_classes, 1)
        self.score4 = nn.Conv2d(2 * w, num_classes, 1)
        self.up16to8 = bilinear_deconv(num_classes, 2)
        self.up8to4 = bilinear_deconv(num_classes, 2)
        self.up4to1 = bilinear_deconv(num_classes, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = []
        for stage in self.stages:
            x = self.pool(stage(x))
            pooled.append(x)  # /2, /4, /8, /16
        scores = self.up16to8(self.head(pooled[3])) + self.score8(pooled[2])
        scores = self.up8to4(scores) + self.score4(pooled[1])
        return self.up4to1(scores)


@register_model(
    "fcn", task="segmentation", spatial_dims=2, title="FCN (skip fusion)",
    paper="Long J, Shelhamer E, Darrell T. Fully convolutional networks for semantic "
          "segmentation. CVPR 2015.",
    library="MedLearn", size_multiple=16,
    width_note="Channels of the first encoder stage (then 2x, 4x, 8x; head 16x).")
def build_fcn(in_channels: int, num_classes: int, spatial_dims: int, width: int,
              input_size: int | None, dropout: float = 0.5) -> nn.Module:
    return FCN(in_channels, num_classes, width, dropout)
