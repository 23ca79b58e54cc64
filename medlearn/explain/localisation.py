"""Does an explanation point at the lesion? Scores against a phantom's known lesion map.

* ``peak_in_lesion``: the map's maximum lies inside the lesion.
* ``energy_in_lesion``: the share of the map's total mass inside the lesion
  (the energy-based pointing game of Wang et al., Score-CAM, 2020).
* ``pointing_game``: the peak lies within ``tolerance_px`` of the lesion
  (Zhang et al., ECCV 2016, who used 15 pixels).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

from medlearn.errors import MedlearnInputError


def localisation_score(cam_map: np.ndarray, lesion_mask: np.ndarray, tolerance_px: float = 15.0) -> dict:
    """Score a saliency map against the true lesion.

    Args:
        cam_map: non-negative map ``S`` (2D or 3D), e.g. a Grad-CAM in [0, 1].
        lesion_mask: ``S``; non-zero = lesion.
        tolerance_px: pointing-game tolerance in pixels.

    Returns:
        ``{"peak_in_lesion": bool, "energy_in_lesion": float in [0, 1],
        "pointing_game": bool, "peak_distance_px": float, "lesion_fraction": float}``;
        ``lesion_fraction`` (lesion share of the image) is what a uniform map would score.
    """
    cam = np.asarray(cam_map, np.float64)
    lesion = np.asarray(lesion_mask) != 0
    if cam.shape != lesion.shape:
        raise MedlearnInputError(f"The map {cam.shape} and the lesion mask {lesion.shape} must have the same shape.")
    if not lesion.any():
        raise MedlearnInputError("The lesion mask is empty: there is no lesion to point at.")
    if not np.isfinite(cam).all():
        raise MedlearnInputError("The map contains NaN or infinite values.")
    cam = np.maximum(cam, 0.0)
    peak = np.unravel_index(int(np.argmax(cam)), cam.shape)
    distance = float(distance_transform_edt(~lesion)[peak])
    total = cam.sum()
    return {
        "peak_in_lesion": bool(lesion[peak]),
        "energy_in_lesion": float(cam[lesion].sum() / total) if total > 0 else 0.0,
        "pointing_game": distance <= tolerance_px,
        "peak_distance_px": distance,
        "lesion_fraction": float(lesion.mean()),
    }
