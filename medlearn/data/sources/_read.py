"""How sources read files: through :func:`medlearn.data.io.read_image`.

Sources add what a file header cannot know (modality of a PNG, a dataset's
pixel spacing) with :func:`retag`, and turn label images into integer masks with
:func:`read_mask`. Grey images stored as three (nearly) equal RGB channels (common in
BUSI) are read as ``(H, W)`` by the reader itself, as every upload is; colour pictures
stay colour (a grey model's input pipeline takes their luminance, in training and in
prediction alike: :mod:`medlearn.preprocess`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medlearn.data.image import MedImage


def read(path: Path, **changes: Any) -> MedImage:
    """Read one image file (PNG, JPEG, TIFF, DICOM, NIfTI) and apply ``changes``."""
    from medlearn.data.io import read_image

    image = read_image(Path(path))
    return retag(image, **changes) if changes else image


def retag(image: MedImage, **changes: Any) -> MedImage:
    """A copy with new metadata (pixels unchanged)."""
    return image.with_pixels(image.pixels, **changes)


def read_mask(path: Path) -> np.ndarray:
    """An integer label map from a PNG/NIfTI label file (floats holding integers are cast).

    PNG masks saved as 0/255 stay as read; callers binarise them (``> 0``).
    """
    image = read(path)
    pixels = image.pixels[..., :3].max(axis=-1) if image.is_rgb else image.pixels
    return np.rint(pixels).astype(np.int16) if pixels.dtype.kind == "f" else pixels.astype(np.int16)
