"""SSDlite: a single-shot detector with a MobileNetV2-style backbone (Liu et al. 2016; Sandler et al. 2018).

The detector is torchvision's :class:`~torchvision.models.detection.SSD` with its SSDlite head
(:class:`~torchvision.models.detection.ssdlite.SSDLiteHead`: depthwise-separable class and box
predictors); only the parts are chosen here, all from torchvision:

* backbone: a stem convolution (stride 2) and MobileNetV2 inverted residual blocks
  (:class:`torchvision.models.mobilenetv2.InvertedResidual`, expansion 4) with feature maps at
  strides 4, 8 and 16 (``2 width``, ``4 width``, ``8 width`` channels), the three levels the
  boxes are predicted on; torchvision's ``ssdlite320_mobilenet_v3_large`` starts at stride 16,
  too coarse for a 4-pixel nodule;
* default boxes (:class:`DefaultBoxGenerator`): two square boxes per position, of 3 % and 4.2 %
  of the image on the finest level, 6 % and 8.5 % on the next, 12 % and 17 % on the coarsest
  (6 to 33 px at 192 px), no other aspect ratios (nodules are round);
* matching: a default box is a positive for a nodule it overlaps with IoU >= 0.35 (SSD's 0.5
  gives a 4-pixel nodule a single box to learn from), besides each nodule's best box;
  BatchNorm in the head at PyTorch's default momentum (torchvision's 0.03 suits its 600-epoch
  schedule, not a few CPU epochs);
* the transform keeps the recipe's input size and does not re-normalise; detections scoring
  below 0.05 are dropped, at most 20 kept after non-maximum suppression.

One pass predicts every box (no region proposals): cheaper than Faster R-CNN per image, and
by the literature less accurate on small objects, which the race on nodules shows or not.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssdlite import SSDLiteHead
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.ops import Conv2dNormActivation

from medlearn.models.detection.base import BoxDetector, check_detector
from medlearn.models.registry import register_model

DEFAULT_SIZE = 192
SCALES = (0.03, 0.06, 0.12, 0.24)  # of the image side, per level (and the last one's upper end)
IOU = 0.35  # a default box overlapping a nodule this much learns it (SSD's 0.5 leaves a 4 px nodule one box)


class MobileBody(nn.Module):
    """Feature maps at strides 4, 8, 16 from inverted residual blocks (an ``OrderedDict``)."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, stride: int) -> InvertedResidual:
            return InvertedResidual(c_in, c_out, stride, expand_ratio=4)

        self.stem = Conv2dNormActivation(in_channels, width, 3, 2, activation_layer=nn.ReLU6)
        self.level0 = nn.Sequential(block(width, 2 * width, 2), block(2 * width, 2 * width, 1))
        self.level1 = nn.Sequential(block(2 * width, 4 * width, 2), block(4 * width, 4 * width, 1))
        self.level2 = nn.Sequential(block(4 * width, 8 * width, 2), block(8 * width, 8 * width, 1))
        self.out_channels = [2 * width, 4 * width, 8 * width]

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        f0 = self.level0(self.stem(x))
        f1 = self.level1(f0)
        return OrderedDict([("0", f0), ("1", f1), ("2", self.level2(f1))])


class SSDLiteDetector(BoxDetector):
    """Boxes of nodules in one pass (see the module doc and
    :class:`~medlearn.models.detection.base.BoxDetector`)."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, input_size: int | None = None,
                 score_threshold: float = 0.05) -> None:
        super().__init__()
        check_detector(num_classes, score_threshold)
        self.num_classes = num_classes
        size = int(input_size or DEFAULT_SIZE)
        body = MobileBody(in_channels, width)
        boxes = DefaultBoxGenerator([[], [], []], scales=list(SCALES))
        norm = partial(nn.BatchNorm2d, eps=0.001)  # torchvision's momentum 0.03 suits 600 epochs, not 8
        head = SSDLiteHead(body.out_channels, boxes.num_anchors_per_location(), num_classes, norm)
        self.detector = SSD(body, boxes, (size, size), num_classes, image_mean=[0.0] * in_channels,
                            image_std=[1.0] * in_channels, head=head, score_thresh=score_threshold,
                            detections_per_img=20, topk_candidates=200, iou_thresh=IOU)

    def cam_layer(self) -> nn.Module:
        return self.detector.backbone.level0  # the stride-4 level small boxes are read from


@register_model(
    "ssdlite", task="detection", spatial_dims=2, title="SSDlite (MobileNetV2 blocks)",
    paper="Liu W et al. SSD: single shot multibox detector. ECCV 2016; Sandler M et al. MobileNetV2: inverted "
          "residuals and linear bottlenecks (SSDlite). CVPR 2018.",
    library="torchvision", min_size=32,
    width_note="Channels of the stem (1x width) and of the three feature levels (2x, 4x, 8x).")
def build_ssdlite(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                  input_size: int | None, score_threshold: float = 0.05) -> nn.Module:
    return SSDLiteDetector(in_channels, num_classes, width, input_size, score_threshold)
