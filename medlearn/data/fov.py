"""The field of view of a fundus photograph: the bright disc the camera saw.

Vessel and lesion figures are reported inside the field of view (the black corners would
inflate specificity and accuracy); DRIVE ships FOV masks, CHASE_DB1 and IDRiD do not, so
MedLearn derives them. Built from scikit-image morphology; the rule is the usual one in
the retinal literature: threshold the red channel (the brightest in the fundus and the
least affected by vessels) at a fraction of its robust maximum, keep the largest region,
close small gaps and fill holes, then erode a few pixels so the camera's dark rim is out.
"""

from __future__ import annotations

import numpy as np

from medlearn.errors import MedlearnInputError

RED_FRACTION = 0.12  # of the 99th-percentile red level: background is near black
RIM_FRACTION = 0.004  # erosion radius, as a share of the image's shorter side


def fov_mask(image: np.ndarray) -> np.ndarray:
    """Boolean ``(H, W)`` field-of-view mask of a fundus photograph.

    Args:
        image: ``(H, W, 3)`` RGB or ``(H, W)`` grey, any numeric type.

    Raises:
        MedlearnInputError: when no bright region stands out from the background (not a
            fundus photograph, or a blank one).
    """
    from scipy import ndimage
    from skimage import measure, morphology

    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        red = arr[..., 0]
    elif arr.ndim == 2:
        red = arr
    else:
        raise MedlearnInputError(f"A field of view needs an (H, W) or (H, W, 3) picture, got shape {arr.shape}.")
    top = float(np.percentile(red, 99))
    if not np.isfinite(top) or top <= float(red.min()):
        raise MedlearnInputError("This picture is uniform: there is no field of view to find.")
    bright = red > red.min() + RED_FRACTION * (top - red.min())
    labels = measure.label(bright, connectivity=1)
    if labels.max() == 0:
        raise MedlearnInputError("No field of view stands out from the background.")
    largest = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    radius = max(1, int(round(RIM_FRACTION * min(red.shape))))
    closed = morphology.closing(largest, morphology.disk(2 * radius))
    filled = ndimage.binary_fill_holes(closed)
    return morphology.erosion(filled, morphology.disk(radius)).astype(bool)
