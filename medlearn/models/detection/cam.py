"""Grad-CAM of a detector's top box: which image regions raised its score.

The CAM method (Grad-CAM, Grad-CAM++, ...) comes from ``pytorch_grad_cam`` through the same
pieces :func:`medlearn.explain.compute_cam` uses (the per-model lock, the timed forward that
keeps the feature vectors, gradients that start at the explained layer); only the target
differs: :class:`TopBoxTarget` is the top box's score, read from the detector's score map
(the map's largest class-``k`` value is the log of its best class-``k`` box's score, and the
CAM's normalisation per image makes a log's map the same as the score's).
"""

from __future__ import annotations

import numpy as np
import torch

from medlearn.errors import MedlearnInputError
from medlearn.explain.cam import CamResult, _gradients_from_here, _TimedForward, model_lock
from medlearn.explain.methods import get_method


class TopBoxTarget:
    """The score of the best box of class ``category`` (default 1, the first object class),
    from one image's score map ``(K, H, W)``. An image without such a box has a constant map
    with no path back to the network: its target is then zero times the explained layer's
    output (``anchor``, a one-item list the forward hook fills), so a batch without any box
    still runs backward and gets an empty map."""

    def __init__(self, category: int = 1, anchor: list | None = None):
        self.category, self.anchor = category, anchor

    def __call__(self, model_output: torch.Tensor) -> torch.Tensor:
        score = model_output[self.category].amax()
        if score.requires_grad or not self.anchor:
            return score
        return score + 0.0 * self.anchor[0].sum()


def detection_cam(model: torch.nn.Module, x: torch.Tensor, *, method: str = "gradcam",
                  class_index: int | None = None) -> CamResult:
    """Explain the top box of each image of ``x`` ``(B, C, H, W)`` for a detector of
    :mod:`medlearn.models.detection` (its ``cam_layer()``); returns the score maps of the same
    forward pass as ``logits``. An image without boxes gets an empty map (nothing to explain)."""
    spec = get_method(method)
    if x.ndim != 4:
        raise MedlearnInputError(f"A detector's CAM needs a batch (B, C, H, W), got shape {tuple(x.shape)}.")
    category = 1 if class_index is None else int(class_index)
    layer = model.cam_layer()
    timed = _TimedForward(model)
    with model_lock(model), torch.inference_mode(False), torch.enable_grad():
        x = x.detach().clone()
        handles = [layer.register_forward_hook(_gradients_from_here)] if spec.uses_gradients else []
        anchor: list = []

        def keep(module, inputs, output):  # after _gradients_from_here: the output gradients start at
            anchor[:] = [output]

        handles.append(layer.register_forward_hook(keep))
        try:
            with spec.cam_class(model=timed, target_layers=[layer]) as cam:
                cam.batch_size = 64
                maps = cam(input_tensor=x, targets=[TopBoxTarget(category, anchor) for _ in range(x.shape[0])])
                logits = cam.outputs.detach()
        finally:
            for handle in handles:
                handle.remove()
            model.zero_grad(set_to_none=True)
    maps = np.clip(np.nan_to_num(np.asarray(maps, np.float32)), 0.0, 1.0)
    empty = logits[:, category].flatten(1).amax(1).exp() <= 1e-5  # no box of the class: the floor everywhere
    maps[empty.cpu().numpy()] = 0.0
    return CamResult(maps, logits, [category] * x.shape[0], timed.forward_ms or 0.0, timed.features)
