"""The registry of CAM methods: which pytorch_grad_cam class, how slow, which dimensions.

All methods come from ``pytorch_grad_cam`` (Gildenblat et al., github.com/jacobgil/
pytorch-grad-cam). One override: EigenCAM's projection uses a thin SVD
(``full_matrices=False``) because the library's full SVD builds an (N × N) matrix
over all N positions of the feature map (64 MB for a 64 × 64 segmenter layer,
gigabytes for a volume) only to read its first right-singular vector, which the
thin SVD gives identically; the sign is fixed as in Seg-Eigen-CAM (Eq. 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, ScoreCAM
from pytorch_grad_cam.base_cam import BaseCAM

from medlearn.errors import UnknownNameError


def thin_projection(activations: np.ndarray) -> np.ndarray:
    """First principal component of each sample's activations.

    Args:
        activations: ``(B, C, *spatial)``.

    Returns:
        ``(B, *spatial)`` float32 projections, sign chosen so the salient part is positive.
    """
    out = []
    for act in np.nan_to_num(activations):
        flat = act.reshape(act.shape[0], -1).T
        flat = flat - flat.mean(axis=0)
        _, _, vt = np.linalg.svd(flat, full_matrices=False)
        proj = flat @ vt[0]
        if abs(proj.min()) > abs(proj.max()):
            proj = -proj
        out.append(proj.reshape(act.shape[1:]))
    return np.float32(out)


class ThinEigenCAM(EigenCAM):
    """EigenCAM (Muhammad and Yeasin 2020) with a thin SVD; see the module docstring."""

    def get_cam_image(self, input_tensor, target_layer, target_category, activations, grads, eigen_smooth):
        return thin_projection(activations)


@dataclass(frozen=True)
class CamMethod:
    """One explanation method.

    Attributes:
        name: registry key (``"gradcam"``...).
        title: human name for select boxes.
        cam_class: the ``pytorch_grad_cam`` class.
        slow: True when it runs one forward pass per feature channel (Score-CAM).
        spatial_dims: dimensionalities it supports.
        uses_gradients: False for gradient-free methods.
        paper: the reference.
    """

    name: str
    title: str
    cam_class: type[BaseCAM]
    slow: bool = False
    spatial_dims: tuple[int, ...] = (2, 3)
    uses_gradients: bool = True
    paper: str = ""


_METHODS: dict[str, CamMethod] = {
    m.name: m
    for m in (
        CamMethod("gradcam", "Grad-CAM", GradCAM, paper="Selvaraju et al., ICCV 2017"),
        CamMethod("gradcam++", "Grad-CAM++", GradCAMPlusPlus, paper="Chattopadhyay et al., WACV 2018"),
        CamMethod("eigencam", "EigenCAM", ThinEigenCAM, uses_gradients=False, paper="Muhammad and Yeasin, IJCNN 2020"),
        CamMethod("scorecam", "Score-CAM (slow)", ScoreCAM, slow=True, spatial_dims=(2,), uses_gradients=False,
                  paper="Wang et al., CVPR Workshops 2020"),
    )
}


def list_methods(spatial_dims: int | None = None) -> list[CamMethod]:
    """The explanation methods, fastest first; only those supporting ``spatial_dims`` if given."""
    return [m for m in _METHODS.values() if spatial_dims is None or spatial_dims in m.spatial_dims]


def get_method(name: str) -> CamMethod:
    """The method called ``name`` (case-insensitive), or :class:`UnknownNameError`."""
    try:
        return _METHODS[name.strip().lower()]
    except (KeyError, AttributeError):
        raise UnknownNameError(
            f"Unknown explanation method {name!r}; known methods: {', '.join(_METHODS)}."
        ) from None
