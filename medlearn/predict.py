"""Prediction for the app and the command line: cached models, one forward, a CAM, measurements.

:class:`Predictor` keeps loaded models in a thread-safe LRU keyed by checkpoint file
(path and modification time, so a retrained checkpoint is reloaded) and device, shared
by every session of a server. Each call: adapt the image to the model (notes say
what was changed), preprocess as training did (``medlearn.train.data``: the training
enhancement if any, window to [0, 1], channels, MONAI ``Resize``), one forward pass
that also yields the CAM, maps and masks resized back to the image, and the case's
clinical measurements.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from monai.transforms import Resize

from medlearn import clinical
from medlearn.cases import CaseStudy, get_case
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, ModelUnavailableError
from medlearn.explain import compute_cam, get_method, model_lock

DISCLAIMER = "For teaching, not for clinical use."


@dataclass
class Prediction:
    """One answer. Arrays are in the input image's spatial shape.

    Attributes:
        prediction: class name, or ``"segmentation"``.
        class_index: predicted class (segmentation: the class the explanation targets).
        probabilities: class name -> probability (classification), else None.
        mask: integer label map (segmentation), else None.
        explanation: float32 map in [0, 1], or None when not asked for.
        timings: milliseconds per stage: ``preprocess``, ``forward``, ``explain``, ``postprocess``.
        weights_note: which weights answered (honest: phantoms are not patients).
        measurements: clinical numbers with units in their names.
        notes: what was adapted or could not be measured.
    """

    case: str
    arch: str
    prediction: str
    class_index: int | None
    probabilities: dict[str, float] | None
    mask: np.ndarray | None
    explanation: np.ndarray | None
    explain_method: str | None
    latency_ms: float
    timings: dict[str, float]
    weights_note: str
    measurements: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checkpoint: str = ""
    disclaimer: str = DISCLAIMER

    def summary(self) -> dict[str, Any]:
        """JSON-ready fields (no arrays)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("mask", "explanation")}
        out["latency_ms"] = round(self.latency_ms, 2)
        out["timings"] = {k: round(v, 2) for k, v in self.timings.items()}
        return out


@dataclass
class LoadedModel:
    model: torch.nn.Module
    meta: dict[str, Any]
    device: torch.device
    path: Path


def _untrained(case: CaseStudy, arch: str | None) -> ModelUnavailableError:
    what = f"{arch} model" if arch else "model"
    return ModelUnavailableError(
        f"No trained {what} for {case.title} yet. Train one with `python -m medlearn prepare {case.key}` "
        f"or on the case page's Train tab."
    )


@dataclass
class Prepared:
    """The model input and how to map outputs back to the image.

    Attributes:
        x: ``(B, C, *s)`` float32 on the model's device (B = slices when ``layout == "slices"``).
        layout: ``"same"`` (image and model dims agree), ``"central"`` (a volume's central
            slice, for a 2D classifier) or ``"slices"`` (every slice, for a 2D segmenter).
        spatial_shape: the original image's spatial shape.
    """

    x: torch.Tensor
    layout: str
    spatial_shape: tuple[int, ...]
    grey: np.ndarray
    notes: list[str]


def prepare(image: MedImage, case: CaseStudy, meta: dict[str, Any], device: torch.device) -> Prepared:
    """Adapt ``image`` to the model described by ``meta`` and preprocess it as training did."""
    if not isinstance(image, MedImage):
        raise MedlearnInputError("predict needs a MedImage (read it with medlearn.data.io.read_image).")
    notes: list[str] = []
    in_channels = int(meta.get("in_channels", case.task.in_channels))
    model_dims = int(meta.get("spatial_dims", case.task.spatial_dims))
    unit = _enhanced(image, meta, notes).windowed()  # [0, 1]: grey through its window, colour / 255
    if image.is_rgb:
        chans = np.moveaxis(unit, -1, 0)
        if in_channels == 1:
            chans = np.tensordot(np.float32([0.299, 0.587, 0.114]), chans, 1)[None]
            notes.append("The colour image was converted to grey (luminance) for this grey-scale case.")
    else:
        chans = np.repeat(unit[None], in_channels, axis=0)
        if in_channels == 3:
            notes.append("The grey image was repeated into three colour channels; the model expects colour.")
    grey = image.to_grey()
    spatial = tuple(image.spatial_shape)
    layout = "same"
    if len(spatial) == 3 and model_dims == 2:
        if case.task.is_segmentation:
            layout = "slices"
            notes.append(f"The {spatial[0]} slices of the volume were segmented one by one by a 2D model.")
            chans = np.moveaxis(chans, 1, 0)  # (Z, C, Y, X)
        else:
            layout, z = "central", spatial[0] // 2
            chans, grey = chans[:, z][None], grey[z]
            notes.append(f"A 2D model sees one slice: the central slice (z = {z}) of the {spatial[0]}-slice volume.")
    elif len(spatial) == 2 and model_dims == 3:
        raise MedlearnInputError(
            f"This {meta.get('name', 'model')} is a 3D model and needs a volume, but the image is 2D; "
            "upload a volume (NIfTI or a DICOM series) or choose a 2D model."
        )
    else:
        chans = chans[None]
    x = _resize_batch(np.ascontiguousarray(chans, np.float32), meta.get("input_size") or case.recipe.input_size)
    norm = meta.get("input_norm")  # per-channel standardisation of training (medlearn.train.data.standardise)
    if norm:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        x = (x - torch.tensor(norm["mean"], dtype=x.dtype).view(shape)) / torch.tensor(norm["std"], dtype=x.dtype).view(shape)
    return Prepared(x.to(device), layout, spatial, grey, notes)


def _enhanced(image: MedImage, meta: dict[str, Any], notes: list[str]) -> MedImage:
    """The image through the enhancement the model was trained with (``meta["enhance"]``), if any."""
    from medlearn.train.enhancement import enhance_image

    name = meta.get("enhance")
    if not name:
        return image
    notes.append(f"The image was enhanced with {str(name).upper()} first, as this model's training images were.")
    return enhance_image(image, name, meta.get("enhance_params") or {})


def _resize_batch(batch: np.ndarray, size: int | None) -> torch.Tensor:
    """MONAI ``Resize`` (linear, anti-aliased, as in training) of ``(B, C, *S)`` to ``size`` per axis."""
    b, c, *s = batch.shape
    if not size or all(v == size for v in s):
        return torch.from_numpy(batch)
    mode = "bilinear" if len(s) == 2 else "trilinear"
    flat = Resize((int(size),) * len(s), mode=mode, anti_aliasing=True)(batch.reshape(b * c, *s))
    return torch.as_tensor(np.asarray(flat, np.float32)).reshape(b, c, *(int(size),) * len(s))


def _to_image(values: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``(B, K, *s)`` -> ``(B, K, *shape)`` by (bi/tri)linear interpolation."""
    if tuple(values.shape[2:]) == tuple(shape):
        return values
    mode = "bilinear" if len(shape) == 2 else "trilinear"
    return F.interpolate(values.float(), size=tuple(shape), mode=mode, align_corners=False)


def _mask_back(logits: torch.Tensor, prep: Prepared) -> np.ndarray:
    """Segmentation logits back to a label map of the image's spatial shape."""
    plane = prep.spatial_shape[1:] if prep.layout == "slices" else prep.spatial_shape
    labels = _to_image(logits.cpu(), plane).max(1).indices.numpy().astype(np.uint8)
    return labels if prep.layout == "slices" else labels[0]


def _map_back(maps: np.ndarray, prep: Prepared, mask: np.ndarray | None) -> np.ndarray:
    """CAM maps ``(B, *s)`` back to a float32 [0, 1] map of the image's spatial shape."""
    t = torch.from_numpy(np.ascontiguousarray(maps))[:, None]
    if prep.layout == "slices":
        out = _to_image(t, prep.spatial_shape[1:])[:, 0].numpy()
        if mask is not None:  # a slice with nothing segmented has nothing to explain
            out[~mask.reshape(mask.shape[0], -1).any(1)] = 0.0
    elif prep.layout == "central":
        out = np.zeros(prep.spatial_shape, np.float32)
        out[prep.spatial_shape[0] // 2] = _to_image(t, prep.spatial_shape[1:])[0, 0].numpy()
    else:
        out = _to_image(t, prep.spatial_shape)[0, 0].numpy()
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class Predictor:
    """Cached models and the prediction pipeline, shared by every session of a server.

    Args:
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or None (CUDA, then MPS, then CPU).
        max_models: how many loaded models the LRU keeps.
        store: the run store that finds checkpoints (default: the data home's).
    """

    def __init__(self, device: str | None = None, max_models: int = 4, store=None):
        from medlearn.train.device import pick_device

        self.device = pick_device(device)
        self.max_models = max(1, int(max_models))
        self._store = store
        self._cache: OrderedDict[tuple, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def cached_keys(self) -> list[tuple]:
        with self._lock:
            return list(self._cache)

    def load(self, checkpoint: str | Path) -> LoadedModel:
        """The model of ``checkpoint`` on this predictor's device, loaded once and cached."""
        from medlearn.train.checkpoints import load_checkpoint

        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"No checkpoint at {path}; train the model first (python -m medlearn prepare CASE).")
        path = path.resolve()
        key = (str(path), path.stat().st_mtime_ns, str(self.device))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        model, meta = load_checkpoint(path, map_location=self.device)
        if not isinstance(model, torch.nn.Module):
            raise ModelUnavailableError(f"{path.name} is not a neural network checkpoint; predict serves networks only.")
        model.eval().requires_grad_(False)  # served, never trained: CAM backward stops at the target layer
        loaded = LoadedModel(model, meta, self.device, path)
        with self._lock:
            loaded = self._cache.setdefault(key, loaded)  # another thread may have loaded it first
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_models:
                self._cache.popitem(last=False)
        return loaded

    def find_checkpoint(self, case: CaseStudy, arch: str | None) -> Path:
        """The best finished run's checkpoint for ``case`` (and ``arch``), by the case's first metric."""
        from medlearn.metrics import is_better
        from medlearn.train.store import RunStore

        store = self._store or RunStore()
        metric = case.metrics[0] if case.metrics else "loss"
        best, best_value = None, None
        for run in store.list_runs(case=case.key, arch=arch, status="done"):
            path = Path(run.checkpoint or "")
            if path.suffix != ".safetensors" or not path.is_file():
                continue
            value = (run.metrics or {}).get(metric)
            if best is None or is_better(metric, value, best_value):
                best, best_value = path, value if value is not None else best_value
        if best is None:
            raise _untrained(case, arch)
        return best

    def predict(self, case: str, image: MedImage, arch: str | None = None, explain: str | None = "gradcam",
                checkpoint: str | Path | None = None, class_index: int | None = None) -> Prediction:
        """Classify or segment ``image`` for ``case``, explain it, and measure it.

        Args:
            case: case key (``"breast"``...).
            image: the image as read by ``medlearn.data.io.read_image``.
            arch: architecture; None = the best trained model of the case.
            explain: CAM method name (``list_methods()``), or None / ``"none"``.
            checkpoint: a specific ``.safetensors`` checkpoint (overrides ``arch``).
            class_index: class to explain (default: the predicted one).

        Raises:
            ModelUnavailableError: no trained model (the message says how to train one).
            MedlearnInputError / UnknownNameError: bad image, method or case.
        """
        start = time.perf_counter()
        study = get_case(case)
        method = None if explain in (None, "", "none") else get_method(explain).name
        loaded = self.load(checkpoint if checkpoint is not None else self.find_checkpoint(study, arch))
        t_load = time.perf_counter()  # finding and loading the checkpoint: only the first call reads it
        meta = loaded.meta
        if meta.get("case") not in (None, study.key):
            raise MedlearnInputError(f"This checkpoint was trained for case {meta['case']!r}, not {study.key!r}.")
        if int(meta.get("num_classes", study.task.num_classes)) != study.task.num_classes:
            raise MedlearnInputError(f"This checkpoint predicts {meta['num_classes']} classes; {study.title} has "
                                     f"{study.task.num_classes}.")
        prep = prepare(image, study, meta, loaded.device)
        t_prep = time.perf_counter()
        logits, maps, forward_ms, target = self._run(loaded, prep, study, method, class_index)
        t_model = time.perf_counter()
        pred = self._answer(study, loaded, prep, image, logits, maps, method, target)
        end = time.perf_counter()
        explain_ms = (t_model - t_prep) * 1000 - forward_ms if method else 0.0
        pred.timings = {"load": (t_load - start) * 1000, "preprocess": (t_prep - t_load) * 1000,
                        "forward": forward_ms, "explain": explain_ms,
                        "postprocess": (end - t_model) * 1000}
        pred.latency_ms = (end - start) * 1000
        return pred

    def _run(self, loaded: LoadedModel, prep: Prepared, case: CaseStudy, method: str | None, class_index: int | None):
        """One forward pass (inside the CAM when explaining). Returns (logits, maps, forward_ms, target)."""
        task = case.task.kind
        if method is None:
            with model_lock(loaded.model), torch.inference_mode():  # hooks of a concurrent CAM fire on any forward
                t0 = time.perf_counter()
                logits = loaded.model(prep.x)
                return logits.float(), None, (time.perf_counter() - t0) * 1000, None
        result = compute_cam(loaded.model, prep.x, method=method, task=task, class_index=class_index,
                             arch=loaded.meta.get("name"))
        return result.logits.float(), result.maps, result.forward_ms, result.target_classes

    def _answer(self, case: CaseStudy, loaded: LoadedModel, prep: Prepared, image: MedImage, logits: torch.Tensor,
                maps: np.ndarray | None, method: str | None, target: list[int] | None) -> Prediction:
        names = case.task.class_names
        notes = list(prep.notes)
        probabilities = mask = None
        if case.task.is_segmentation:
            mask = _mask_back(logits, prep)
            label, index = "segmentation", (target[0] if target else None)
        else:
            probs = torch.softmax(logits[0].cpu(), 0).numpy()
            index = int(probs.argmax())
            probabilities = {n: float(p) for n, p in zip(names, probs)}
            label = names[index]
        explanation = None if maps is None else _map_back(maps, prep, mask)
        if explanation is not None and prep.layout == "central":
            notes.append("The explanation covers the central slice only.")
        spacing = image.spacing if prep.layout != "central" else image.spacing[1:]
        measurements, more = clinical.measure(case.measurements, mask, prep.grey, spacing, names)
        return Prediction(
            case=case.key, arch=str(loaded.meta.get("name", "?")), prediction=label, class_index=index,
            probabilities=probabilities, mask=mask, explanation=explanation, explain_method=method, latency_ms=0.0,
            timings={}, weights_note=weights_note(loaded.meta, case), measurements=measurements,
            notes=notes + more, checkpoint=str(loaded.path),
        )


def weights_note(meta: dict[str, Any], case: CaseStudy) -> str:
    """Say plainly which weights answered: architecture, training data, validation score."""
    source = meta.get("source") or "unknown data"
    data = "synthetic phantoms (not real patients)" if source == "phantoms" else f"the {source} dataset"
    weights = meta.get("medlearn_weights")
    if meta.get("init", "scratch") != "scratch" and isinstance(weights, str) and weights.startswith("trained by"):
        note = f"{meta.get('name', 'model')} {weights}"  # the trainer's own account, warm starts included
    else:
        pretrained = meta.get("pretrained") or (meta.get("plan") or {}).get("pretrained")
        start = "fine-tuned from ImageNet weights" if pretrained else "trained from scratch"
        note = f"{meta.get('name', 'model')} {start} by MedLearn on {data} for {case.title}"
    metrics = meta.get("metrics") or {}
    metric = case.metrics[0] if case.metrics else None
    if isinstance(metrics, dict) and isinstance(metrics.get(metric), (int, float)):
        note += f"; validation {metric} {metrics[metric]:.3f}"
    return note + "."


_DEFAULT: Predictor | None = None
_DEFAULT_LOCK = threading.Lock()


def default_predictor() -> Predictor:
    """The process-wide predictor (one model cache per server), created on first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Predictor()
        return _DEFAULT


def predict(case: str, image: MedImage, arch: str | None = None, explain: str | None = "gradcam",
            checkpoint: str | Path | None = None) -> Prediction:
    """:meth:`Predictor.predict` on the shared :func:`default_predictor`."""
    return default_predictor().predict(case, image, arch=arch, explain=explain, checkpoint=checkpoint)
