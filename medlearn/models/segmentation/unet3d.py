"""3D U-Net: MONAI's UNet with ``spatial_dims=3`` (the same builder as :mod:`.unet`).

Registered separately because the review compares it with the 2D U-Net by name:
on volumetric MRI, 3D context is what lets it win.
"""

from __future__ import annotations

from torch import nn

from medlearn.models.registry import register_model
from medlearn.models.segmentation.unet import WIDTH_NOTE, build_monai_unet


@register_model(
    "unet3d", task="segmentation", spatial_dims=3, title="3D U-Net",
    paper="Cicek O, Abdulkadir A, Lienkamp SS, Brox T, Ronneberger O. 3D U-Net: learning dense "
          "volumetric segmentation from sparse annotation. MICCAI 2016.",
    library="MONAI", size_multiple=16, width_note=WIDTH_NOTE)
def build_unet3d(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                 input_size: int | None, levels: int = 5, num_res_units: int = 1,
                 dropout: float = 0.0) -> nn.Module:
    """``(B, C, D, H, W) -> (B, K, D, H, W)`` logits; sides multiples of 16."""
    return build_monai_unet(in_channels, num_classes, 3, width, levels, num_res_units, dropout)
