"""MIFNet: a multi-input fusion U-Net for histopathology.

Written here (no library has it), after the idea of the review's gastric-cancer
network: the image enters the encoder at several scales. Besides the full image at
the first stage, the image downsampled to 1/2 and 1/4 (average pooling, as a lower
magnification) passes through its own convolution and is concatenated with the
pooled features entering stages 2 and 3. Low magnification gives gland context,
high magnification nuclear detail. The decoder is a U-Net decoder with skips.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medlearn.models.registry import register_model
from medlearn.models.segmentation.blocks import UpBlock, conv_block

INPUT_SCALES = (2, 4)  # extra inputs at 1/2 and 1/4 of the full size


class MIFNet(nn.Module):
    """``(B, C, H, W) -> (B, K, H, W)`` logits; H and W multiples of 16.

    Args:
        in_channels: image channels.
        num_classes: label values incl. background.
        width: channels of the first stage (then 2x, 4x, 8x; bottleneck 16x).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        chans = [width * 2**i for i in range(5)]  # w, 2w, 4w, 8w, 16w
        self.inputs = nn.ModuleList(conv_block(in_channels, chans[i], n=1)
                                    for i in range(len(INPUT_SCALES)))
        self.encoder = nn.ModuleList([conv_block(in_channels, chans[0])] + [
            conv_block(chans[i] * (2 if i < len(INPUT_SCALES) else 1), chans[i + 1])
            for i in range(4)])
        self.pool = nn.MaxPool2d(2)
        self.decoder = nn.ModuleList(UpBlock(chans[i + 1], chans[i]) for i in reversed(range(4)))
        self.head = nn.Conv2d(chans[0], num_classes, kernel_size=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.encoder[0](image)
        skips = [x]
        for i, stage in enumerate(self.encoder[1:]):
            x = self.pool(x)
            if i < len(INPUT_SCALES):  # fuse the image seen at lower magnification
                scaled = F.avg_pool2d(image, INPUT_SCALES[i])
                x = torch.cat([x, self.inputs[i](scaled)], dim=1)
            x = stage(x)
            skips.append(x)
        for up, skip in zip(self.decoder, reversed(skips[:-1])):
            x = up(x, skip)
        return self.head(x)


@register_model(
    "mifnet", task="segmentation", spatial_dims=2, title="MIFNet (multi-input fusion)",
    paper="Cai L, Gao J, Zhao D. A review of the application of deep learning in medical image "
          "classification and segmentation. Ann Transl Med 2020;8(11):713 (multi-input fusion network).",
    library="MedLearn", size_multiple=16,
    width_note="Channels of the first stage (then 2x, 4x, 8x; bottleneck 16x).")
def build_mifnet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                 input_size: int | None) -> nn.Module:
    return MIFNet(in_channels, num_classes, width)
