"""Box detectors (task ``"detection"``): Faster R-CNN and SSDlite, built from torchvision.

Importing this package registers, in this order: faster_rcnn, ssdlite. See
:mod:`medlearn.models.detection.base` for how a detector fits MedLearn's training, race,
Predict and Grad-CAM (:mod:`medlearn.models.detection.cam`, imported where used: it pulls in
pytorch_grad_cam), and :mod:`medlearn.froc` for how it is scored.
"""

from medlearn.models.detection import faster_rcnn, ssd  # noqa: F401  (registers)
from medlearn.models.detection.base import BoxDetector

__all__ = ["BoxDetector"]
