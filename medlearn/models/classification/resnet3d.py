"""A 3D ResNet (MONAI) for nodule cubes ``(B, 1, 32, 32, 32)``.

MONAI's ``ResNet`` with ``spatial_dims=3`` and ``widen_factor = width / 64``, so the
default width 16 gives stages of 16-128 channels. Cubes of 48 voxels or less get a
3x3x3 stride-1 stem (MONAI's ``conv1_t_size``/``conv1_t_stride``), larger ones the
usual 7x7x7 stride-2 stem; ``depth`` picks ResNet-10/18/34 for the depth sweep.
"""

from __future__ import annotations

from monai.networks.nets import ResNet
from torch import nn

from medlearn.errors import MedlearnInputError
from medlearn.models.classification.adapt import is_small
from medlearn.models.registry import register_model

LAYERS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3]}


@register_model(
    "resnet3d", task="classification", spatial_dims=3, title="3D ResNet",
    paper="Hara K, Kataoka H, Satoh Y. Can spatiotemporal 3D CNNs retrace the history of 2D "
          "CNNs and ImageNet? CVPR 2018.",
    library="MONAI", width_note="Stage widths are width, 2x, 4x, 8x (width 64 = the paper's).")
def build_resnet3d(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                   input_size: int | None, depth: int = 10) -> nn.Module:
    """3D residual network. ``(B, C, D, H, W) -> (B, K)``.

    Args:
        depth: 10, 18 or 34 residual layers.
    """
    if depth not in LAYERS:
        raise MedlearnInputError(f"3D ResNet depth must be one of {sorted(LAYERS)}; got {depth!r}.")
    small = input_size is None or is_small(input_size, 48)
    return ResNet(block="basic", layers=LAYERS[depth], block_inplanes=[64, 128, 256, 512],
                  spatial_dims=3, n_input_channels=in_channels, conv1_t_size=3 if small else 7,
                  conv1_t_stride=1 if small else 2, widen_factor=width / 64, num_classes=num_classes)
