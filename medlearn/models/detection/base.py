"""What MedLearn's box detectors share: training from label maps, score maps, the boxes.

A detector wraps a torchvision detector (``self.detector``: Faster R-CNN, SSD) and fits the
machinery every other network uses (see ``computes_own_loss`` in
:class:`~medlearn.train.trainer.Trainer`):

* training: ``model(x, target)`` turns each label map ``(H, W)`` into boxes
  (:func:`medlearn.models.instances.instance_targets`: a connected region of a class is one
  object, its tight bounding box the truth) and returns the sum of torchvision's losses;
  a slice without nodules is a negative (no boxes);
* evaluation: ``model(x)`` returns a dense score map ``(B, K, H, W)``: each box painted with
  its score over the pixels whose centres it covers, a pixel's class-``k`` probability the
  largest score of the class-``k`` boxes over it, background one minus the largest
  (:func:`medlearn.models.segmentation.maskrcnn.semantic_logits`, shared with Mask R-CNN),
  as logarithms, so softmax gives them back. The race's loss, Predict's mask and every
  generic viewer read it as a segmenter's output; it is differentiable in the scores, so
  Grad-CAM can explain a box (:mod:`medlearn.models.detection.cam`);
* :meth:`BoxDetector.detect`: the boxes themselves (:class:`~medlearn.models.instances.Instances`:
  boxes, labels, scores, best first) on the input's grid, for FROC (:mod:`medlearn.froc`)
  and for drawing. The last evaluation forward keeps its detections, so the boxes of the
  pass that made a score map (validation, a prediction) need no second pass
  (:meth:`BoxDetector.detections`).
"""

from __future__ import annotations

import threading

import torch
from torch import nn

from medlearn.errors import MedlearnInputError
from medlearn.models.instances import Instances, instance_targets


def box_masks(boxes: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``(N, 4)`` boxes ``x0, y0, x1, y1`` -> ``(N, 1, H, W)`` float indicators of the pixels
    whose centres lie inside (a box of integer corners covers exactly its pixels)."""
    h, w = shape
    ys = torch.arange(h, device=boxes.device, dtype=torch.float32)[None, :, None] + 0.5
    xs = torch.arange(w, device=boxes.device, dtype=torch.float32)[None, None, :] + 0.5
    b = boxes.detach().float()[:, :, None, None]
    inside = (xs >= b[:, 0]) & (xs < b[:, 2]) & (ys >= b[:, 1]) & (ys < b[:, 3])
    return inside.float()[:, None]


def check_detector(num_classes: int, score_threshold: float, what: str = "A detector") -> None:
    """The arguments every torchvision-based detector here takes, checked in one place."""
    if num_classes < 2:
        raise MedlearnInputError(f"{what} needs at least one object class besides background.")
    if not 0.0 <= score_threshold < 1.0:
        raise MedlearnInputError(f"The score threshold must lie in [0, 1), not {score_threshold}.")


class BoxDetector(nn.Module):
    """Base of the registered detectors (see the module doc); subclasses set ``self.detector``
    (a torchvision detector taking a list of images) and ``self.num_classes``."""

    computes_own_loss = True
    detector: nn.Module
    num_classes: int

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[torch.Tensor, list[Instances]] | None = None
        self._last_lock = threading.Lock()

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        if target is not None:
            if not self.training:
                raise MedlearnInputError("A detector computes its loss in training mode only; call model.train().")
            if tuple(target.shape) != (x.shape[0], *x.shape[2:]):
                raise MedlearnInputError(f"The label maps {tuple(target.shape)} do not match the images "
                                         f"{tuple(x.shape)}: one (H, W) map per image.")
            losses = self.detector(list(x), instance_targets(target, self.num_classes, with_masks=False))
            return sum(losses.values())
        if self.training:
            raise MedlearnInputError("In training mode a detector needs the label maps (model(x, target)); "
                                     "call model.eval() to detect.")
        from medlearn.models.segmentation.maskrcnn import semantic_logits

        shape = (int(x.shape[-2]), int(x.shape[-1]))
        raw = self.detector(list(x))
        found = [Instances.from_torchvision(d, shape) for d in raw]
        with self._last_lock:
            self._last = (x.detach(), found)
        painted = [{"masks": box_masks(d["boxes"], shape), "scores": d["scores"], "labels": d["labels"]} for d in raw]
        return semantic_logits(painted, self.num_classes, shape, x)

    @torch.no_grad()
    def detect(self, x: torch.Tensor) -> list[Instances]:
        """The boxes of each image of ``x`` ``(B, C, H, W)``, best first, on the input's grid
        (evaluation mode; one forward pass)."""
        if self.training:
            raise MedlearnInputError("Call model.eval() before asking for detections.")
        self(x)
        return self.detections(x)

    def detections(self, x: torch.Tensor) -> list[Instances]:
        """The boxes of ``x`` from the last evaluation forward when it ran on exactly ``x``
        (the pass that made a score map), else from a new pass."""
        with self._last_lock:
            last = self._last
        if last is not None and last[0].shape == x.shape and torch.equal(last[0], x.detach()):
            return list(last[1])
        return self.detect(x)

    def detections_for(self, x: torch.Tensor) -> Instances:
        """The boxes of one image ``x`` ``(1, C, H, W)``: its row of the last forward's batch
        when that batch held exactly this image (a batched server answers each request from
        the one pass it ran), else from a new pass."""
        with self._last_lock:
            last = self._last
        if last is not None and last[0].shape[1:] == x.shape[1:]:
            for row, seen in enumerate(last[0]):
                if torch.equal(seen, x[0].detach()):
                    return last[1][row]
        from medlearn.explain.cam import model_lock

        with model_lock(self):  # a shared model: no other pass (nor a CAM's hooks) meanwhile
            return self.detect(x[:1])[0]

    def feature_layers(self) -> list[nn.Module]:
        """The weight layers that run once per image (the backbone), for
        :class:`medlearn.ood.FeatureTap`: the heads after them run once per region."""
        return [m for m in self.detector.backbone.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]

    def cam_layer(self) -> nn.Module:
        """The layer Grad-CAM explains: the finest feature map the boxes are read from."""
        raise NotImplementedError
