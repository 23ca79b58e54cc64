"""GNNI U-Net: group normalisation in every conv block, nearest-neighbour upsampling.

The review's left-ventricle network. Built on MONAI's ``BasicUNet`` (2D or 3D) with
``norm=("group", ...)`` and ``upsample="nontrainable"``. BasicUNet does not pass an
interpolation mode to its up-blocks (they default to linear), so the four ``UpCat``
blocks are rebuilt with MONAI's own ``interp_mode="nearest"``: each decoder step is a
1x1 convolution, ``nn.Upsample(mode="nearest")``, concatenation and two convolutions.
Group norm does not depend on the batch size, which is why it suits small batches.
"""

from __future__ import annotations

import math

from monai.networks.nets import BasicUNet
from monai.networks.nets.basic_unet import UpCat
from torch import nn

from medlearn.models.registry import register_model

ACT = ("LeakyReLU", {"negative_slope": 0.1, "inplace": True})  # BasicUNet's default


class GNNIUNet(BasicUNet):
    """``(B, C, *spatial) -> (B, K, *spatial)`` logits; sides multiples of 16.

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels.
        num_classes: label values incl. background.
        width: channels of the first level (then w, 2w, 4w, 8w; decoder output w).
    Group norm uses gcd(8, width) groups, so every level's channel count divides evenly.
    """

    def __init__(self, spatial_dims: int, in_channels: int, num_classes: int, width: int = 16) -> None:
        w = width
        features = (w, w, 2 * w, 4 * w, 8 * w, w)
        norm = ("group", {"num_groups": math.gcd(8, w)})
        super().__init__(spatial_dims, in_channels, num_classes, features=features, act=ACT,
                         norm=norm, upsample="nontrainable")

        def up(i_in: int, i_cat: int, i_out: int, halves: bool = True) -> UpCat:
            return UpCat(spatial_dims, features[i_in], features[i_cat], features[i_out], ACT, norm,
                         True, 0.0, "nontrainable", interp_mode="nearest", align_corners=None,
                         halves=halves)

        self.upcat_4, self.upcat_3, self.upcat_2 = up(4, 3, 3), up(3, 2, 2), up(2, 1, 1)
        self.upcat_1 = up(1, 0, 5, halves=False)


@register_model(
    "gnni_unet", task="segmentation", spatial_dims=(2, 3), title="GNNI U-Net",
    paper="Cai L, Gao J, Zhao D. Ann Transl Med 2020;8(11):713 (U-Net with group normalisation "
          "and nearest-neighbour interpolation for left-ventricle segmentation).",
    library="MONAI", size_multiple=16,
    width_note="Channels of the first level (then 2x, 4x, 8x); group norm with up to 8 groups.")
def build_gnni_unet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                    input_size: int | None) -> nn.Module:
    return GNNIUNet(spatial_dims, in_channels, num_classes, width)
