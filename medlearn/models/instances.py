"""Objects from label maps, and detections back to images: what torchvision's detectors need.

torchvision's Mask R-CNN and Faster R-CNN train on *instances* (per image: boxes, class
labels and, for Mask R-CNN, one binary mask per object); MedLearn's data are label maps
``(H, W)`` (0 background, 1.. classes). Written here because neither torchvision nor MONAI
turns a label map into detection targets:

* :func:`mask_instances`: each connected component (8-connected, ``scipy.ndimage.label``)
  of each class is one object; its box is the tight bounding box in torchvision's
  convention ``(x0, y0, x1, y1)`` with ``x1``/``y1`` one past the last pixel, so a
  one-pixel object has a 1 x 1 box; pixels marked :data:`~medlearn.metrics.UNLABELLED`
  belong to no object. An image without objects gives empty tensors (torchvision trains
  on such negatives);
* :func:`instance_targets`: the same for a batch ``(B, H, W)``, as the list of target
  dicts a torchvision detector takes in training;
* :class:`Instances`: a detector's answer for one image (boxes, labels, scores, masks),
  moved from the model's input grid back onto the image (:meth:`Instances.placed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from medlearn.metrics import UNLABELLED

_EIGHT = np.ones((3, 3), bool)  # 8-connectivity: a diagonal step stays in one object


def mask_instances(mask, num_classes: int, with_masks: bool = True) -> dict[str, torch.Tensor]:
    """One label map ``(H, W)`` -> ``{"boxes" (N, 4) float32, "labels" (N,) int64[, "masks" (N, H, W) uint8]}``.

    Objects are listed class by class, each class's components in ``scipy.ndimage.label``'s
    order (raster order of their first pixel). Values outside ``1..num_classes-1`` (background,
    :data:`UNLABELLED`) form no object.
    """
    labels_map = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if labels_map.ndim != 2:
        raise ValueError(f"mask_instances needs one 2D label map, got shape {labels_map.shape}")
    boxes, labels, masks = [], [], []
    for cls in range(1, num_classes):
        if cls == UNLABELLED:
            continue
        components, n = ndimage.label(labels_map == cls, structure=_EIGHT)
        for index, found in enumerate(ndimage.find_objects(components), start=1):
            if found is None:
                continue
            rows, cols = found
            boxes.append((cols.start, rows.start, cols.stop, rows.stop))
            labels.append(cls)
            if with_masks:
                masks.append(components == index)
    h, w = labels_map.shape
    out = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
           "labels": torch.tensor(labels, dtype=torch.int64)}
    if with_masks:
        out["masks"] = torch.from_numpy(np.stack(masks).astype(np.uint8) if masks else np.zeros((0, h, w), np.uint8))
    return out


def instance_targets(target: torch.Tensor, num_classes: int, with_masks: bool = True) -> list[dict[str, torch.Tensor]]:
    """A batch of label maps ``(B, H, W)`` -> one target dict per image (:func:`mask_instances`),
    on the batch's device."""
    if target.dim() != 3:
        raise ValueError(f"instance_targets needs label maps (B, H, W), got shape {tuple(target.shape)}")
    return [{k: v.to(target.device) for k, v in mask_instances(t, num_classes, with_masks).items()}
            for t in target]


@dataclass
class Instances:
    """The objects a detector found in one image.

    Attributes:
        boxes: ``(N, 4)`` float32 ``x0, y0, x1, y1`` in pixels of the grid they refer to.
        labels: ``(N,)`` int64 class indices (1 = the first foreground class).
        scores: ``(N,)`` float32 confidences in [0, 1], highest first.
        masks: ``(N, H, W)`` float32 mask probabilities on that grid, or None (a box detector).
        shape: ``(H, W)`` of that grid.
    """

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    masks: np.ndarray | None
    shape: tuple[int, int]

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def from_torchvision(cls, detection: dict[str, torch.Tensor], shape: tuple[int, int]) -> "Instances":
        """From one of torchvision's detection dicts (masks ``(N, 1, H, W)`` when present)."""
        masks = detection.get("masks")
        scores = detection["scores"].detach().float().cpu().numpy()
        order = np.argsort(-scores, kind="stable")
        return cls(boxes=detection["boxes"].detach().float().cpu().numpy()[order].reshape(-1, 4),
                   labels=detection["labels"].detach().cpu().numpy().astype(np.int64)[order],
                   scores=scores[order],
                   masks=None if masks is None else masks.detach().float().cpu().numpy()[order, 0],
                   shape=(int(shape[0]), int(shape[1])))

    def above(self, threshold: float) -> "Instances":
        """Only the objects scoring at least ``threshold``."""
        keep = self.scores >= threshold
        return Instances(self.boxes[keep], self.labels[keep], self.scores[keep],
                         None if self.masks is None else self.masks[keep], self.shape)

    def placed(self, plane: tuple[int, int], box: tuple[slice, ...] = ()) -> "Instances":
        """The objects on an image plane of shape ``plane``, when the grid they refer to is that
        plane (or its region ``box``, the model's field of view) resized to :attr:`shape`:
        boxes scaled and shifted, masks resized bilinearly (zero outside the region)."""
        top, left = (box[-2].start, box[-1].start) if box else (0, 0)
        height, width = (box[-2].stop - top, box[-1].stop - left) if box else tuple(plane)
        sy, sx = height / self.shape[0], width / self.shape[1]
        boxes = self.boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([left, top, left, top], np.float32)
        masks = None
        if self.masks is not None:
            masks = np.zeros((len(self), *plane), np.float32)
            if len(self):
                inner = torch.nn.functional.interpolate(torch.from_numpy(self.masks)[:, None], size=(height, width),
                                                        mode="bilinear", align_corners=False)[:, 0].numpy()
                masks[:, top:top + height, left:left + width] = inner
        return Instances(boxes.astype(np.float32), self.labels, self.scores, masks, (int(plane[0]), int(plane[1])))


def instances_on_image(loaded, image, index: int | None = None, title: str = "this case") -> Instances:
    """The objects a served instance model finds on ``image``, on the image's own pixel grid.

    Args:
        loaded: a :class:`medlearn.predict.LoadedModel` whose network has ``instances(x)``
            (Mask R-CNN: :meth:`~medlearn.models.segmentation.maskrcnn.MaskRCNNSegmenter.instances`).
        image: the :class:`~medlearn.data.image.MedImage` to read: a 2D image, or a volume
            that a 2D model reads slice by slice.
        index: the axial slice of a volume (array index along its first axis).
        title: the case's title, for the input checks' messages.

    The image is prepared exactly as for a prediction (:func:`medlearn.predict.prepare`: the
    model card's preprocessing), and the shared model is run under its lock.

    Raises:
        MedlearnInputError: the model finds no instances, or the slice does not exist.
    """
    from medlearn.errors import MedlearnInputError
    from medlearn.explain.cam import model_lock
    from medlearn.predict import prepare

    find = getattr(loaded.model, "instances", None)
    if not callable(find):
        raise MedlearnInputError(f"The {loaded.card.arch} model segments pixels; it finds no separate objects "
                                 "(instances come from an instance segmenter such as Mask R-CNN).")
    prep = prepare(image, loaded.card, loaded.device, title)
    x, plane = prep.x, tuple(prep.spatial_shape)
    if prep.layout == "slices":
        if index is None or not 0 <= int(index) < x.shape[0]:
            raise MedlearnInputError(f"Pick an axial slice from 1 to {x.shape[0]}; slice {index} does not exist.")
        x, plane = x[int(index):int(index) + 1], plane[1:]
    elif prep.layout != "same":
        raise MedlearnInputError("Instances are found on whole 2D images or on every slice of a volume.")
    with model_lock(loaded.model), torch.inference_mode():
        found = find(x)[0]
    return found.placed(plane, prep.box)
