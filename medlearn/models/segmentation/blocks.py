"""Building blocks shared by MedLearn's own 2D segmenters (FCN, SegNet, PSPNet, MIFNet).

Written here rather than taken from a library because these four networks are not
in torchvision or MONAI; the blocks are the standard VGG-style pieces.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(in_channels: int, out_channels: int, n: int = 2, dilation: int = 1) -> nn.Sequential:
    """``n`` x (3x3 convolution, batch norm, ReLU). ``(B, Cin, H, W) -> (B, Cout, H, W)``."""
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3,
                             padding=dilation, dilation=dilation, bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class UpBlock(nn.Module):
    """U-Net decoder step: 2x transposed convolution, concatenate the skip, two convolutions.

    ``(B, Cin, H, W), skip (B, Cout, 2H, 2W) -> (B, Cout, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.conv = conv_block(2 * out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([self.up(x), skip], dim=1))


def bilinear_deconv(channels: int, factor: int) -> nn.ConvTranspose2d:
    """A learned ``factor``-x upsampling initialised to bilinear interpolation (as in FCN).

    ``(B, C, H, W) -> (B, C, factor*H, factor*W)``.
    """
    kernel = 2 * factor
    deconv = nn.ConvTranspose2d(channels, channels, kernel, stride=factor, padding=factor // 2, bias=False)
    centre = factor - 0.5
    ramp = 1 - (torch.arange(kernel, dtype=torch.float32) - centre).abs() / factor
    weight = torch.zeros_like(deconv.weight)
    for c in range(channels):
        weight[c, c] = ramp[:, None] * ramp[None, :]
    with torch.no_grad():
        deconv.weight.copy_(weight)
    return deconv
