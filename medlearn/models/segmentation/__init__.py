"""Segmenters: MONAI U-Nets and MedLearn's own FCN, SegNet, PSPNet and MIFNet.

Importing this package registers, in this order: fcn, unet, segnet, pspnet, unet3d, gnni_unet, mifnet, maskrcnn.
"""

from medlearn.models.segmentation import fcn, unet, segnet, pspnet  # noqa: F401  (registers)
from medlearn.models.segmentation import unet3d, gnni_unet, mifnet  # noqa: F401  (registers)
from medlearn.models.segmentation import maskrcnn  # noqa: F401  (registers)
