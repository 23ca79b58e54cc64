"""Model registry and architectures (see ``docs/ARCHITECTURE.md``).

>>> from medlearn.models import get_model, list_models
>>> [s.name for s in list_models("segmentation", spatial_dims=3)]
['unet', 'unet3d', 'gnni_unet']
>>> net = get_model("unet", in_channels=1, num_classes=3)          # 2D, width 16
>>> net.medlearn_weights
'random initialisation (trained from scratch)'

Registration order is the order of the select boxes: classifiers, the classical
baseline, then segmenters, then detectors.
"""

from medlearn.models.registry import ModelSpec, get_spec, list_models, register_model
from medlearn.models import classification  # noqa: F401  (registers)
from medlearn.models import classic  # noqa: F401  (registers)
from medlearn.models import segmentation  # noqa: F401  (registers)
from medlearn.models import detection  # noqa: F401  (registers: faster_rcnn, ssdlite)
from medlearn.models.classic import ClassicalClassifier, ClassicConfig
from medlearn.models.factory import get_model
from medlearn.models.pretrained import load_backbone_from, weights_status
from medlearn.models.summary import count_parameters, describe_model

__all__ = [
    "ClassicConfig", "ClassicalClassifier", "ModelSpec", "count_parameters", "describe_model",
    "get_model", "get_spec", "list_models", "load_backbone_from", "register_model", "weights_status",
]
