"""Faster R-CNN with a small backbone for CT slices on a CPU (Ren et al. 2015).

The detector is torchvision's :class:`~torchvision.models.detection.FasterRCNN`; only its
parts are chosen here, all from torchvision:

* backbone: three stages of two 3x3 convolutions with BatchNorm and ReLU
  (:class:`torchvision.ops.Conv2dNormActivation`), widths ``width``, ``2 width``, ``4 width``
  at strides 2, 4 and 8, under a feature pyramid (:class:`BackboneWithFPN`, ``4 width``
  channels, levels at strides 4 and 8 plus its max-pooled top level). A nodule of 7 mm is
  4 pixels across on a 192 px chest slice: the boxes are read from the stride-4 level, which
  an ImageNet ResNet (stride 4 after its first stage, 11 M weights) would only reach at many
  times the cost on two cores;
* anchors scaled to the input: square sides of 1/32 and 1/16 of the image on the first
  level, 1/8 and 1/4 on the second, 1/2 and 1 on the pooled one (6 to 192 px at 192 px);
  nodules are round, so one aspect ratio;
* the transform keeps the recipe's input size (``min_size = max_size``) and does not
  re-normalise (MedLearn standardised the image already);
* heads: torchvision's box head (two fully connected layers of ``8 width``) and predictor;
  fewer proposals and sampled regions than torchvision's COCO defaults (a slice holds a few
  nodules, not dozens of objects); detections scoring below 0.05 are dropped, at most 20 kept.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import Conv2dNormActivation, MultiScaleRoIAlign

from medlearn.models.detection.base import BoxDetector, check_detector
from medlearn.models.registry import register_model

DEFAULT_SIZE = 192


def stage(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """Two 3x3 convolutions (BatchNorm, ReLU), the first with ``stride``."""
    return nn.Sequential(Conv2dNormActivation(c_in, c_out, 3, stride), Conv2dNormActivation(c_out, c_out, 3, 1))


class SmallBody(nn.Sequential):
    """Three stages at strides 2, 4, 8 (named children, for the pyramid's layer getter)."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__(OrderedDict(stem=stage(in_channels, width, 2), layer1=stage(width, 2 * width, 2),
                                     layer2=stage(2 * width, 4 * width, 2)))


class FasterRCNNDetector(BoxDetector):
    """Boxes of nodules (see the module doc and :class:`~medlearn.models.detection.base.BoxDetector`).

    Args:
        in_channels: image channels; num_classes: label values incl. background.
        width: channels of the first stage (the pyramid has ``4 width``).
        input_size: the side the recipe feeds (anchors scale with it).
        score_threshold: detections below this score are dropped.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, input_size: int | None = None,
                 score_threshold: float = 0.05) -> None:
        super().__init__()
        check_detector(num_classes, score_threshold)
        self.num_classes = num_classes
        size = int(input_size or DEFAULT_SIZE)
        channels = 4 * width
        backbone = BackboneWithFPN(SmallBody(in_channels, width), {"layer1": "0", "layer2": "1"},
                                   [2 * width, 4 * width], channels)
        base = max(2.0, size / 32)
        anchors = AnchorGenerator(sizes=((base, 2 * base), (4 * base, 8 * base), (16 * base, 32 * base)),
                                  aspect_ratios=((1.0,),) * 3)
        self.detector = FasterRCNN(
            backbone, num_classes=None, min_size=size, max_size=size,
            image_mean=[0.0] * in_channels, image_std=[1.0] * in_channels, size_divisible=8,
            rpn_anchor_generator=anchors,
            rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=150,
            rpn_pre_nms_top_n_test=300, rpn_post_nms_top_n_test=60, rpn_batch_size_per_image=128,
            box_roi_pool=MultiScaleRoIAlign(["0", "1"], output_size=7, sampling_ratio=2),
            box_head=TwoMLPHead(channels * 7 * 7, 8 * width),
            box_predictor=FastRCNNPredictor(8 * width, num_classes),
            box_batch_size_per_image=64, box_detections_per_img=20, box_score_thresh=score_threshold)

    def cam_layer(self) -> nn.Module:
        # the backbone's stride-4 stage: both pyramid levels the boxes are read from grow from it
        return self.detector.backbone.body.layer1


@register_model(
    "faster_rcnn", task="detection", spatial_dims=2, title="Faster R-CNN (small backbone)",
    paper="Ren S, He K, Girshick R, Sun J. Faster R-CNN: towards real-time object detection with region "
          "proposal networks. NeurIPS 2015.",
    library="torchvision", min_size=32,
    width_note="Channels of the backbone's three stages (1x, 2x, 4x width), of the feature pyramid (4x) "
               "and of the box head (8x).")
def build_faster_rcnn(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                      input_size: int | None, score_threshold: float = 0.05) -> nn.Module:
    return FasterRCNNDetector(in_channels, num_classes, width, input_size, score_threshold)
