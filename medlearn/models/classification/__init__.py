"""Classifiers from torchvision and MONAI, adapted to small 1- or 3-channel images.

Importing this package registers: alexnet, vgg11, vgg16, googlenet, resnet18, resnet34, resnet3d.
"""

from medlearn.models.classification import alexnet, vgg, googlenet, resnet, resnet3d  # noqa: F401
