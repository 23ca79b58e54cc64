"""U-Net from MONAI (``monai.networks.nets.UNet``), in 2D or 3D.

One builder, two shapes: ``spatial_dims`` 2 or 3. MONAI's UNet downsamples with
strided convolutions, upsamples with transposed convolutions, and concatenates each
encoder map into the decoder (the U-Net skip). Channels double per level from ``width``.
"""

from __future__ import annotations

from monai.networks.nets import UNet
from torch import nn

from medlearn.errors import MedlearnInputError
from medlearn.models.registry import register_model

WIDTH_NOTE = "Channels of the first level, doubling per level (width, 2x, 4x, ...)."


def build_monai_unet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                     levels: int, num_res_units: int, dropout: float) -> nn.Module:
    """MONAI UNet with ``levels`` resolutions (``levels - 1`` halvings).

    ``(B, C, *spatial) -> (B, K, *spatial)``; sides multiples of ``2 ** (levels - 1)``.
    """
    if levels not in (3, 4, 5):
        raise MedlearnInputError(f"U-Net levels must be 3, 4 or 5; got {levels!r}.")
    channels = tuple(width * 2**i for i in range(levels))
    return UNet(spatial_dims=spatial_dims, in_channels=in_channels, out_channels=num_classes,
                channels=channels, strides=(2,) * (levels - 1), num_res_units=num_res_units,
                norm="batch", dropout=dropout)


@register_model(
    "unet", task="segmentation", spatial_dims=(2, 3), title="U-Net",
    paper="Ronneberger O, Fischer P, Brox T. U-Net: convolutional networks for biomedical image "
          "segmentation. MICCAI 2015.",
    library="MONAI", size_multiple=16, width_note=WIDTH_NOTE)
def build_unet(in_channels: int, num_classes: int, spatial_dims: int, width: int,
               input_size: int | None, levels: int = 5, num_res_units: int = 1,
               dropout: float = 0.0) -> nn.Module:
    return build_monai_unet(in_channels, num_classes, spatial_dims, width, levels, num_res_units, dropout)
