"""Data: the image object, readers, dataset sources and phantoms."""

from medlearn.data.image import MedImage

__all__ = ["MedImage"]
