"""SegNet: encoder-decoder that upsamples with the encoder's max-pooling indices.

Not in torchvision or MONAI, so written here. The encoder is VGG-style (conv-BN-ReLU
stacks of 2, 2, 3, 3 convolutions, a 4-stage version of VGG16's 13); every
``nn.MaxPool2d(return_indices=True)`` hands its argmax positions to the mirrored
``nn.MaxUnpool2d`` of the decoder, which puts each value back where the maximum was.
Nothing is learned in unpooling; the decoder's convolutions densify the sparse maps.
"""

from __future__ import annotations

import torch
from torch import nn

from medlearn.models.registry import register_model
from medlearn.models.segmentation.blocks import conv_block

CONVS_PER_STAGE = (2, 2, 3, 3)


class SegNet(nn.Module):
    """``(B, C, H, W) -> (B, K, H, W)`` logits; any H, W of at least 16.

    Args:
        in_channels: image channels.
        num_classes: label values incl. background.
        width: channels of the first stage (then 2x, 4x, 8x).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        chans = [in_channels] + [width * 2**i for i in range(len(CONVS_PER_STAGE))]
        self.encoder = nn.ModuleList(conv_block(chans[i], chans[i + 1], n)
                                     for i, n in enumerate(CONVS_PER_STAGE))
        decoder_out = [width] + chans[1:-1]  # the first decoder stage keeps `width` channels
        self.decoder = nn.ModuleList(conv_block(chans[i + 1], decoder_out[i], n)
                                     for i, n in enumerate(CONVS_PER_STAGE))
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.classifier = nn.Conv2d(width, num_classes, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        memory = []
        for stage in self.encoder:
            x = stage(x)
            size = x.shape[-2:]
            x, indices = self.pool(x)
            memory.append((indices, size))
        for stage, (indices, size) in zip(reversed(self.decoder), reversed(memory)):
            x = stage(self.unpool(x, indices, output_size=size))
        return self.classifier(x)


@register_model(
    "segnet", task="segmentation", spatial_dims=2, title="SegNet (pooling indices)",
    paper="Badrinarayanan V, Kendall A, Cipolla R. SegNet: a deep convolutional encoder-decoder "
          "architecture for image segmentation. IEEE TPAMI 2017.",
    library="MedLearn", width_note="Channels of the first encoder stage (then 2x, 4x, 8x).")
def build_segnet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                 input_size: int | None) -> nn.Module:
    return SegNet(in_channels, num_classes, width)
