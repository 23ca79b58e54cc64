"""Explanations: class activation maps (via pytorch_grad_cam), overlays, localisation scores."""

from medlearn.explain.cam import CamResult, PredictedMaskTarget, compute_cam, model_lock
from medlearn.explain.localisation import localisation_score
from medlearn.explain.methods import CamMethod, get_method, list_methods
from medlearn.explain.overlay import (
    OKABE_ITO,
    colourise,
    heatmap_overlay,
    list_colormaps,
    mask_overlay,
    to_rgb_uint8,
)
from medlearn.explain.targets import find_target_layer, register_target_layer

__all__ = [
    "CamMethod",
    "CamResult",
    "OKABE_ITO",
    "PredictedMaskTarget",
    "colourise",
    "compute_cam",
    "find_target_layer",
    "get_method",
    "heatmap_overlay",
    "list_colormaps",
    "list_methods",
    "localisation_score",
    "mask_overlay",
    "model_lock",
    "register_target_layer",
    "to_rgb_uint8",
]
