"""Mask R-CNN on slices: torchvision's detector, sized for small MRI crops on a CPU.

The network is torchvision's :class:`~torchvision.models.detection.MaskRCNN` (He et al.
2017); only its parts are chosen here, all from torchvision:

* backbone: a ResNet-18 (``torchvision.models.resnet18``, random weights, BatchNorm that
  trains) whose first convolution reads ``in_channels`` channels, cut after its third
  stage (strides 4, 8, 16: at 32-64 px a fourth stage would be one pixel wide), with a
  feature pyramid (:class:`~torchvision.models.detection.backbone_utils.BackboneWithFPN`,
  plus its max-pooled top level for the region proposals);
* anchors scaled to the input: sides of 1/8, 1/4, 1/2 and 1 of the image on the four
  pyramid levels, aspect ratios 1:2, 1:1, 2:1;
* the transform (:class:`GeneralizedRCNNTransform`) keeps the image at the recipe's input
  size (``min_size = max_size = input_size``, not torchvision's 800 px) and does not
  re-normalise it (mean 0, std 1 per channel: MedLearn standardised it already);
* heads: torchvision's box head (two fully connected layers) and mask head (four 3x3
  convolutions), narrowed by ``width``. The mask head reads 7 x 7 regions and draws 14 x 14
  masks (torchvision's 14 and 28): an object here is at most about 25 pixels across, and the
  smaller head halved the time of a volume's answer with its Grad-CAM. Fewer sampled regions
  and proposals than torchvision's COCO defaults (a slice holds a few objects, not dozens),
  one bilinear sample per pooled bin, at most 5 objects per slice.

How it fits MedLearn's segmentation machinery (``computes_own_loss``, see
:class:`~medlearn.train.trainer.Trainer`):

* training: ``model(x, target)`` turns each label map into instances
  (:func:`medlearn.models.instances.instance_targets`: a connected component of a class is
  one object) and returns the sum of torchvision's five losses (RPN objectness and box,
  classification, box regression, mask);
* evaluation: ``model(x)`` returns segmentation logits ``(B, K, H, W)`` made from the
  detections: each class's probability is the largest ``score x mask probability`` of its
  detections at that pixel, background is one minus the largest class probability, and
  the logits are their logarithms (softmax gives those probabilities back, renormalised).
  Dice, the race, Predict and Grad-CAM read it as any segmenter's output;
* :meth:`MaskRCNNSegmenter.instances`: the detections themselves (boxes, labels, scores,
  masks) for the instance view.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.transform import resize_boxes
from torchvision.ops import MultiScaleRoIAlign

from medlearn.errors import MedlearnInputError
from medlearn.models.detection.base import check_detector
from medlearn.models.instances import Instances, instance_targets
from medlearn.models.registry import register_model

DEFAULT_SIZE = 64  # the transform's size when no input size is given
LEVELS = ("0", "1", "2")  # ResNet-18 stages 1-3: strides 4, 8, 16
STAGE_CHANNELS = (64, 128, 256)
FLOOR = 1e-6  # smallest probability turned into a logit
MASK_ROI = 7  # regions pooled for the mask head: 7 x 7, masks of 14 x 14 (torchvision: 14 and 28)


class MaskRCNNSegmenter(nn.Module):
    """``(B, C, H, W) -> (B, K, H, W)`` logits in evaluation; ``model(x, target)`` -> loss in training.

    Args:
        in_channels: image channels.
        num_classes: label values incl. background (torchvision counts background too).
        width: FPN and mask-head channels are ``2 * width``; the box head's ``8 * width``.
        input_size: the side the recipe feeds (the transform keeps it; anchors scale with it).
        score_threshold: detections below this score are dropped (torchvision's 0.05).
    """

    computes_own_loss = True

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, input_size: int | None = None,
                 score_threshold: float = 0.05) -> None:
        super().__init__()
        check_detector(num_classes, score_threshold, "Mask R-CNN")
        self.num_classes = num_classes
        size = int(input_size or DEFAULT_SIZE)
        channels = 2 * width
        body = resnet18(weights=None, norm_layer=nn.BatchNorm2d)
        body.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        backbone = BackboneWithFPN(body, {"layer1": "0", "layer2": "1", "layer3": "2"},
                                   list(STAGE_CHANNELS), channels)
        base = max(2, round(size / 8))
        anchors = AnchorGenerator(sizes=tuple((base * 2**i,) for i in range(len(LEVELS) + 1)),
                                  aspect_ratios=((0.5, 1.0, 2.0),) * (len(LEVELS) + 1))
        self.detector = MaskRCNN(
            backbone, num_classes=None, min_size=size, max_size=size,
            image_mean=[0.0] * in_channels, image_std=[1.0] * in_channels, size_divisible=16,
            rpn_anchor_generator=anchors,
            rpn_pre_nms_top_n_train=300, rpn_post_nms_top_n_train=100,
            rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=20, rpn_batch_size_per_image=64,
            box_roi_pool=MultiScaleRoIAlign(list(LEVELS), output_size=7, sampling_ratio=1),
            box_head=TwoMLPHead(channels * 7 * 7, 8 * width),
            box_predictor=FastRCNNPredictor(8 * width, num_classes),
            box_batch_size_per_image=32, box_detections_per_img=5, box_score_thresh=score_threshold,
            mask_roi_pool=MultiScaleRoIAlign(list(LEVELS), output_size=MASK_ROI, sampling_ratio=1),
            mask_head=MaskRCNNHeads(channels, (channels,) * 4, dilation=1),
            mask_predictor=MaskRCNNPredictor(channels, channels, num_classes),
        )

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        if target is not None:
            if not self.training:
                raise MedlearnInputError("Mask R-CNN computes its loss in training mode only; call model.train().")
            if tuple(target.shape) != (x.shape[0], *x.shape[2:]):
                raise MedlearnInputError(f"The label maps {tuple(target.shape)} do not match the images "
                                         f"{tuple(x.shape)}: one (H, W) map per image.")
            losses = self.detector(list(x), instance_targets(target, self.num_classes))
            return sum(losses.values())
        if self.training:
            raise MedlearnInputError("In training mode Mask R-CNN needs the label maps (model(x, target)); "
                                     "call model.eval() to segment.")
        return semantic_logits(self._detect(x), self.num_classes, tuple(x.shape[-2:]), x)

    def _detect(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """torchvision's evaluation pass (transform, backbone, proposals, heads) with the masks
        pasted into the input's grid by :func:`paste_masks`, all at once, instead of
        torchvision's loop over the detections (a fifth of a volume's answer time)."""
        d = self.detector
        images, _ = d.transform(list(x))
        features = d.backbone(images.tensors)
        proposals, _ = d.rpn(images, features)
        detections, _ = d.roi_heads(features, proposals, images.image_sizes)
        shape = (int(x.shape[-2]), int(x.shape[-1]))
        for det, size in zip(detections, images.image_sizes):
            if tuple(size) != shape:  # another size than the transform's: boxes back to the input's grid
                det["boxes"] = resize_boxes(det["boxes"], list(size), list(shape))
        counts = [len(det["boxes"]) for det in detections]
        pasted = paste_masks(torch.cat([det["masks"] for det in detections]),
                             torch.cat([det["boxes"] for det in detections]), shape)
        for det, masks in zip(detections, pasted.split(counts)):
            det["masks"] = masks
        return detections

    @torch.no_grad()
    def instances(self, x: torch.Tensor) -> list[Instances]:
        """The detections of each image of ``x`` ``(B, C, H, W)``: boxes, labels, scores and
        mask probabilities on the input's grid, best first (evaluation mode)."""
        if self.training:
            raise MedlearnInputError("Call model.eval() before asking for instances.")
        shape = tuple(x.shape[-2:])
        return [Instances.from_torchvision(d, shape) for d in self._detect(x)]

    def cam_layer(self) -> nn.Module:
        """The layer Grad-CAM explains (:func:`medlearn.explain.targets.find_target_layer`): the
        pyramid's finest level (stride 4), where the regions of objects this small are read."""
        return self.detector.backbone.fpn.layer_blocks[0]

    def feature_layers(self) -> list[nn.Module]:
        """The weight layers that run once per image (the backbone and its pyramid), for
        :class:`medlearn.ood.FeatureTap`: the heads after them run once per region."""
        return [m for m in self.detector.backbone.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def paste_masks(masks: torch.Tensor, boxes: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Mask probabilities ``(N, 1, M, M)`` drawn inside their boxes ``(N, 4)`` on an ``(H, W)``
    grid -> ``(N, 1, H, W)``, zero outside each box: one bilinear ``grid_sample`` for all of
    them (differentiable in the masks, for Grad-CAM), where torchvision pastes one by one.

    The geometry inverts how torchvision made the masks' training targets
    (``roi_align(..., aligned=False)``: pixel ``u`` sits at coordinate ``u``, cell ``j`` of a box
    from ``x0`` to ``x1`` at ``x0 + (j + 1/2) (x1 - x0) / M``): output pixel ``u`` reads the
    mask where that coordinate falls, the nearest cell beyond the outer cells' centres, for the
    pixels whose coordinate lies in the box. On the phantom validation slices this scored Dice
    0.661 against 0.651 for torchvision's own paste and 0.631 with pixel centres at ``u + 1/2``."""
    h, w = shape
    if masks.shape[0] == 0:
        return masks.new_zeros((0, 1, h, w))
    b = boxes.to(masks.dtype)
    width, height = (b[:, 2] - b[:, 0]).clamp_min(1e-3), (b[:, 3] - b[:, 1]).clamp_min(1e-3)
    xs = torch.arange(w, device=masks.device, dtype=masks.dtype)
    ys = torch.arange(h, device=masks.device, dtype=masks.dtype)
    gx = (2 * (xs[None] - b[:, :1]) / width[:, None] - 1)[:, None, :].expand(-1, h, -1)  # box edges at -1, 1
    gy = (2 * (ys[None] - b[:, 1:2]) / height[:, None] - 1)[:, :, None].expand(-1, -1, w)
    inside = ((gx.abs() <= 1) & (gy.abs() <= 1)).to(masks.dtype)[:, None]
    pasted = F.grid_sample(masks, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="border",
                           align_corners=False)
    return pasted * inside


def semantic_logits(detections: list[dict[str, torch.Tensor]], num_classes: int, shape: tuple[int, int],
                    like: torch.Tensor) -> torch.Tensor:
    """``(B, K, H, W)`` logits from torchvision's detections (see the module doc); differentiable
    in the masks and scores, so Grad-CAM can explain them. One ``scatter_reduce`` (the largest
    ``score x mask`` per image and class) for the whole batch, no loop over the images."""
    h, w = shape
    batch, classes = len(detections), num_classes - 1
    fg = like.new_zeros((batch * classes, h * w))
    found = [i for i, det in enumerate(detections) if len(det["scores"])]
    if found:
        weighted = torch.cat([(detections[i]["masks"][:, 0] * detections[i]["scores"][:, None, None]).reshape(-1, h * w)
                              for i in found]).to(fg.dtype)
        rows = torch.cat([i * classes + detections[i]["labels"] - 1 for i in found])
        fg = fg.scatter_reduce(0, rows[:, None].expand(-1, h * w), weighted, "amax")
    fg = fg.reshape(batch, classes, h, w)
    return torch.cat([(1.0 - fg.amax(1, keepdim=True)), fg], 1).clamp_min(FLOOR).log()


@register_model(
    "maskrcnn", task="segmentation", spatial_dims=2, title="Mask R-CNN (instances)",
    paper="He K, Gkioxari G, Dollár P, Girshick R. Mask R-CNN. ICCV 2017.",
    library="torchvision", min_size=16,
    width_note="Channels of the feature pyramid and the mask head (2x width) and of the box head (8x); "
               "the ResNet-18 backbone keeps its published widths.")
def build_maskrcnn(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                   input_size: int | None, score_threshold: float = 0.05) -> nn.Module:
    return MaskRCNNSegmenter(in_channels, num_classes, width, input_size, score_threshold)
