"""Explanations: class activation maps (via pytorch_grad_cam), overlays, localisation scores.

Names are loaded on first use (PEP 562), so ``medlearn.explain.overlay`` (the palette and
the mask overlay, NumPy only) is imported without torch or pytorch_grad_cam: the home page's
first paint draws thumbnails with it and must not wait seconds for torch.
"""

from importlib import import_module

_WHERE = {
    "CamResult": "cam", "PredictedMaskTarget": "cam", "compute_cam": "cam", "model_lock": "cam",
    "localisation_score": "localisation",
    "CamMethod": "methods", "get_method": "methods", "list_methods": "methods",
    "OKABE_ITO": "overlay", "colourise": "overlay", "heatmap_overlay": "overlay", "list_colormaps": "overlay",
    "mask_overlay": "overlay", "to_rgb_uint8": "overlay",
    "find_target_layer": "targets", "register_target_layer": "targets",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'medlearn.explain' has no attribute {name!r}")
    value = getattr(import_module(f"medlearn.explain.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
