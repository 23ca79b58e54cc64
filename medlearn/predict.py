"""Prediction for the app and the command line: cached models, one forward, a CAM, measurements.

:class:`Predictor` keeps loaded models in a thread-safe LRU keyed by checkpoint file
(path and modification time, so a retrained checkpoint is reloaded) and device, shared
by every session of a server. Each call: check the image is plausible for the model
(:func:`medlearn.card.check_input`), prepare it through the one input pipeline with the
model card's :class:`~medlearn.preprocess.Preprocessing` (exactly as training did), one
batch-first forward pass (:func:`forward`, shared with :mod:`medlearn.serving`) that also
yields the CAM, then :func:`answer`: decisions at the card's operating threshold, maps and
masks back to the image, the case's clinical measurements. The classical baseline is
served through the same call (features of the same prepared image, no CAM).
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

from medlearn import clinical
from medlearn.card import ModelCard, card_of, check_input, checkpoint_has_card
from medlearn.cases import CaseStudy, get_case
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, ModelUnavailableError
from medlearn.explain import compute_cam, get_method, model_lock
from medlearn.metrics import calibrate, decide
from medlearn.ood import Familiarity, FeatureTap, judge, read_banks, row
from medlearn.preprocess import crop_box, model_array, prepared_image, resize, standardise

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
        card: the model card's rows (``(label, text)``: data, preprocessing, threshold, scores).
        threshold: the operating threshold on p(class 1) the decision used, or None (argmax).
        warning: said first and plainly when the model scored poorly on validation, else None.
        familiarity: how far the image lies from the training images in the network's feature
            space (:mod:`medlearn.ood`), or None (no calibration stored, classical baseline).
        foreground: segmentation: float32 probability of any foreground class per pixel (the
            vessel probability map; what AUCs read), in the image's spatial shape; else None.
        boxes: a detector's boxes on the image, best first: ``{"box": [x0, y0, x1, y1]`` (pixels,
            stop exclusive), ``"score"``, ``"label"}`` for every box it kept (score >= 0.05); its
            ``mask`` marks the boxes scoring 0.5 or more. None for other models.
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
    card: list[tuple[str, str]] = field(default_factory=list)
    threshold: float | None = None
    warning: str | None = None
    familiarity: Familiarity | None = None
    foreground: np.ndarray | None = None
    boxes: list[dict[str, Any]] | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready fields (no arrays)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("mask", "explanation", "familiarity", "foreground")}
        out["familiarity"] = self.familiarity.to_dict() if self.familiarity is not None else None
        out["latency_ms"] = round(self.latency_ms, 2)
        out["timings"] = {k: round(v, 2) for k, v in self.timings.items()}
        out["card"] = [list(row) for row in self.card]
        return out


@dataclass
class LoadedModel:
    """A served model: a network (``torch.nn.Module``) or the classical baseline."""

    model: Any
    meta: dict[str, Any]
    device: torch.device
    path: Path
    card: ModelCard
    familiarity_banks: dict[str, np.ndarray] | None = None  # training feature vectors (medlearn.ood), if stored

    @property
    def is_network(self) -> bool:
        return isinstance(self.model, torch.nn.Module)


def _untrained(case: CaseStudy, arch: str | None, old: int = 0) -> ModelUnavailableError:
    what = f"{arch} model" if arch else "model"
    extra = (f" ({old} older checkpoint{'s' if old > 1 else ''} without a model card {'were' if old > 1 else 'was'}"
             " skipped: retrain them)") if old else ""
    return ModelUnavailableError(
        f"No trained {what} for {case.title} yet{extra}. Train one with `python -m medlearn prepare {case.key}` "
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
        grey: the image in grey (what the measurements read), the central slice for ``"central"``.
        box: the model's region of interest on the last two axes (``()``: the whole field);
            outputs are placed back into it, background elsewhere.
    """

    x: torch.Tensor
    layout: str
    spatial_shape: tuple[int, ...]
    grey: np.ndarray
    notes: list[str]
    box: tuple[slice, ...] = ()


def prepare(image: MedImage, card: ModelCard, device: torch.device, title: str = "this case") -> Prepared:
    """Check ``image`` against the model of ``card`` and prepare it exactly as training did:
    :func:`medlearn.preprocess.model_array`, the case's slice layout, resize, standardise."""
    if not isinstance(image, MedImage):
        raise MedlearnInputError("predict needs a MedImage (read it with medlearn.data.io.read_image).")
    pre = card.preprocessing
    notes = check_input(image, card, title) + _conversion_notes(image, card)
    chans = model_array(image, pre)
    grey = image.to_grey()
    spatial = tuple(image.spatial_shape)
    layout = "same"
    if len(spatial) == 3 and pre.spatial_dims == 2:
        if card.task == "segmentation":
            layout = "slices"
            notes.append(f"The {spatial[0]} slices of the volume were segmented one by one by a 2D model.")
            chans = np.moveaxis(chans, 1, 0)  # (Z, C, Y, X)
        else:
            layout, z = "central", spatial[0] // 2
            chans, grey = chans[:, z][None], grey[z]
            notes.append(f"A 2D model sees one slice: the central slice (z = {z}) of the {spatial[0]}-slice volume.")
    else:
        chans = chans[None]
    x = torch.from_numpy(resize(chans, pre.input_size, pre.spatial_dims))
    box = crop_box(spatial, pre.crop)
    if box:
        notes.append(f"The model sees the central {pre.crop:.0%} of the field of view, as in training; "
                     "outside it the answer is background.")
    return Prepared(standardise(x, pre.norm).to(device), layout, spatial, grey, notes, box)


def _conversion_notes(image: MedImage, card: ModelCard) -> list[str]:
    pre, notes = card.preprocessing, []
    if pre.enhance:
        notes.append(f"The image was enhanced with {pre.enhance.upper()} first, as this model's training images were.")
    if image.is_rgb and pre.in_channels == 1:
        notes.append("The colour image was converted to grey (luminance) for this grey-scale model.")
    elif not image.is_rgb and pre.in_channels == 3:
        notes.append("The grey image was repeated into three colour channels; the model expects colour.")
    return notes + image.reading_notes()  # what the reader chose, corrected or assumed


def _to_image(values: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``(B, K, *s)`` -> ``(B, K, *shape)`` by (bi/tri)linear interpolation."""
    if tuple(values.shape[2:]) == tuple(shape):
        return values
    mode = "bilinear" if len(shape) == 2 else "trilinear"
    return F.interpolate(values.float(), size=tuple(shape), mode=mode, align_corners=False)


def _in_box(values: torch.Tensor, plane: tuple[int, ...], box: tuple[slice, ...]) -> np.ndarray:
    """``(B, K, *s)`` model outputs -> ``(B, K, *plane)``: resized to the region of interest
    ``box`` of ``plane`` and placed there (zeros elsewhere; no box: the whole plane)."""
    if not box:
        return _to_image(values, plane).numpy()
    inner = tuple(plane[:-2]) + tuple(s.stop - s.start for s in box)
    out = np.zeros(tuple(values.shape[:2]) + tuple(plane), np.float32)
    out[(Ellipsis, *box)] = _to_image(values, inner).numpy()
    return out


def _mask_back(logits: torch.Tensor, prep: Prepared) -> np.ndarray:
    """Segmentation logits back to a label map of the image's spatial shape (background
    outside the model's region of interest)."""
    plane = prep.spatial_shape[1:] if prep.layout == "slices" else prep.spatial_shape
    labels = _in_box(logits.cpu(), plane, prep.box).argmax(1).astype(np.uint8)  # all-zero outside: class 0
    return labels if prep.layout == "slices" else labels[0]


def _foreground_back(logits: torch.Tensor, prep: Prepared) -> np.ndarray:
    """Segmentation logits -> the probability of any foreground class per pixel of the image
    (softmax, then resized like the mask; 0 outside the model's region of interest)."""
    plane = prep.spatial_shape[1:] if prep.layout == "slices" else prep.spatial_shape
    foreground = torch.softmax(logits.detach().float().cpu(), 1)[:, 1:].sum(1, keepdim=True)
    out = np.clip(_in_box(foreground, plane, prep.box)[:, 0], 0.0, 1.0).astype(np.float32)
    return out if prep.layout == "slices" else out[0]


def map_back(maps: np.ndarray, prep: Prepared, mask: np.ndarray | None) -> np.ndarray:
    """CAM maps ``(B, *s)`` back to a float32 [0, 1] map of the image's spatial shape."""
    t = torch.from_numpy(np.ascontiguousarray(maps, np.float32))[:, None]
    if prep.layout == "slices":
        out = _in_box(t, prep.spatial_shape[1:], prep.box)[:, 0]
        if mask is not None:  # a slice with nothing segmented has nothing to explain
            out[~mask.reshape(mask.shape[0], -1).any(1)] = 0.0
    elif prep.layout == "central":
        out = np.zeros(prep.spatial_shape, np.float32)
        out[prep.spatial_shape[0] // 2] = _in_box(t, prep.spatial_shape[1:], prep.box)[0, 0]
    else:
        out = _in_box(t, prep.spatial_shape, prep.box)[0, 0]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass
class Forward:
    """One batch-first forward pass: logits ``(B, K, ...)``, CAM maps ``(B, *s)`` or None,
    its time, the explained classes or None, and the feature vectors ``{view: (B, D)}`` that
    :mod:`medlearn.ood` measures (or None)."""

    logits: torch.Tensor
    maps: np.ndarray | None
    forward_ms: float
    targets: list[int] | None
    features: dict[str, np.ndarray] | None


def forward(loaded: LoadedModel, x: torch.Tensor, task: str, method: str | None, class_index: int | None) -> Forward:
    """One batch-first forward pass of a network on ``x`` ``(B, C, *s)``, inside the CAM when
    explaining. The predictor and the batching server both run this. A model whose card
    says ``tile`` answers an image of at most :data:`medlearn.tiling.WHOLE_PIXELS` pixels in
    this one pass too, larger ones by sliding windows (:func:`_tiled_forward`)."""
    from medlearn.tiling import fits_whole

    if loaded.card.preprocessing.tile and task == "segmentation" and x.ndim == 4 and not fits_whole(x):
        return _tiled_forward(loaded, x, method, class_index)
    if method is None:
        with model_lock(loaded.model), torch.inference_mode():  # hooks of a concurrent CAM fire on any forward
            t0 = time.perf_counter()
            with FeatureTap(loaded.model) as tap:
                logits = loaded.model(x)
            return Forward(logits.float(), None, (time.perf_counter() - t0) * 1000, None, tap.features)
    if task == "detection":  # Grad-CAM of the top box's score (a detector's own target and layer)
        from medlearn.models.detection.cam import detection_cam

        result = detection_cam(loaded.model, x, method=method, class_index=class_index)
    else:
        result = compute_cam(loaded.model, x, method=method, task=task, class_index=class_index,
                             arch=loaded.meta.get("name"))
    return Forward(result.logits.float(), result.maps, result.forward_ms, result.target_classes, result.features)


def _tiled_forward(loaded: LoadedModel, x: torch.Tensor, method: str | None, class_index: int | None) -> Forward:
    """A model trained on tiles, on an image beyond :data:`medlearn.tiling.WHOLE_PIXELS`: the
    logits come from overlapping windows of its tile size (:func:`medlearn.tiling.tiled_logits`);
    the CAM (or, without one, the feature vectors :mod:`medlearn.ood` compares, calibrated on
    whole images) from one pass over the whole image, which a fully convolutional segmenter
    reads at any size."""
    from medlearn.tiling import tiled_logits

    with model_lock(loaded.model), torch.inference_mode():
        t0 = time.perf_counter()
        logits = tiled_logits(loaded.model, x, loaded.card.preprocessing.tile).float()
        tiled_ms = (time.perf_counter() - t0) * 1000
        if method is None:
            with FeatureTap(loaded.model) as tap:
                loaded.model(x)
            return Forward(logits, None, tiled_ms, None, tap.features)
    result = compute_cam(loaded.model, x, method=method, task="segmentation", class_index=class_index,
                         arch=loaded.meta.get("name"))
    return Forward(logits, result.maps, tiled_ms, result.target_classes, result.features)


def answer(case: CaseStudy, loaded: LoadedModel, prep: Prepared, image: MedImage, probs_or_logits: torch.Tensor,
           maps: np.ndarray | None, method: str | None, target: int | None, notes: list[str] = (),
           probabilities: bool = False, features: dict[str, np.ndarray] | None = None) -> Prediction:
    """The :class:`Prediction` for one image from its outputs (logits ``(1, K, ...)`` of a
    network, or ``(1, K)`` probabilities of the classical baseline with ``probabilities=True``):
    decisions at the card's threshold, masks and maps back to the image, measurements, and
    how familiar the image is to the model (``features``: its feature vector, :mod:`medlearn.ood`)."""

    card, names = loaded.card, case.task.class_names
    notes = list(prep.notes) + list(notes)
    probs_out = mask = foreground = None
    threshold = None
    if case.task.is_segmentation:
        mask = _mask_back(probs_or_logits, prep)
        foreground = _foreground_back(probs_or_logits, prep)
        label, index = "segmentation", target
    boxes = None
    if case.task.is_detection:  # the boxes of the forward pass that made these score maps
        found = loaded.model.detections_for(prep.x).placed(prep.spatial_shape, prep.box)
        boxes = [{"box": [round(float(v), 2) for v in b], "score": round(float(sc), 4), "label": names[int(k)]}
                 for b, sc, k in zip(found.boxes, found.scores, found.labels)]
        label = f"{sum(b['score'] >= 0.5 for b in boxes)} {names[1]}(s) scoring 0.5 or more"
    elif not case.task.is_segmentation:
        row = probs_or_logits[0].cpu().float()
        probs = calibrate((row if probabilities else torch.softmax(row, 0)).numpy()[None], card.temperature)[0]
        threshold = card.threshold
        index = int(decide(probs[None], threshold)[0])
        probs_out = {n: float(p) for n, p in zip(names, probs)}
        label = names[index]
        if threshold is not None:
            notes.append(f"Decision at this model's operating threshold: {names[1]} when its probability is at "
                         f"least {threshold:.2f} (chosen on validation data), not 0.5.")
    explanation = None if maps is None else map_back(maps, prep, mask)
    if explanation is not None and prep.layout == "central":
        notes.append("The explanation covers the central slice only.")
    spacing = image.spacing if prep.layout != "central" else image.spacing[1:]
    measurements, more = clinical.measure(case.measurements, mask, prep.grey, spacing, names,
                                          spacing_known=image.spacing_known)
    return Prediction(
        case=case.key, arch=card.arch, prediction=label, class_index=index,
        probabilities=probs_out, mask=mask, explanation=explanation, explain_method=method, latency_ms=0.0,
        timings={}, weights_note=weights_note(card, case), measurements=measurements,
        notes=notes + more, checkpoint=str(loaded.path), card=card.rows(), threshold=threshold,
        warning=card.quality_warning(case.metrics[0] if case.metrics else None),
        familiarity=judge(loaded.meta.get("familiarity"), loaded.familiarity_banks, features),
        foreground=foreground, boxes=boxes,
    )


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
        """The model of ``checkpoint`` on this predictor's device, loaded once and cached.

        ``checkpoint`` is a network's ``.safetensors`` file or a classical baseline's
        ``.classic`` folder (MedLearn's own checkpoint folder only: it may hold a pickle).

        Raises:
            ModelUnavailableError: no such checkpoint, or one without a model card.
        """
        path = Path(checkpoint).expanduser()
        classic = path.suffix == ".classic"
        if not (path.is_dir() if classic else path.is_file()):
            raise ModelUnavailableError(f"No checkpoint at {path}; train the model first (python -m medlearn prepare CASE).")
        path = path.resolve()
        stamp = (path / "medlearn.json") if classic else path
        key = (str(path), stamp.stat().st_mtime_ns if stamp.exists() else 0, str(self.device))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        model, meta = self._read(path, classic)
        banks = read_banks(path) if meta.get("familiarity") and not classic else None
        loaded = LoadedModel(model, meta, self.device, path, card_of(meta, path.name), banks)
        with self._lock:
            loaded = self._cache.setdefault(key, loaded)  # another thread may have loaded it first
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_models:
                self._cache.popitem(last=False)
        return loaded

    def _read(self, path: Path, classic: bool):
        if classic:
            from medlearn.train.recipes import load_classic

            return load_classic(path, root=self._checkpoint_root(path))
        from medlearn.train.checkpoints import load_checkpoint, read_meta

        card = card_of(read_meta(path), path.name)  # refuse a card-less checkpoint before building the network
        model, meta = load_checkpoint(path, map_location=self.device)
        if not isinstance(model, torch.nn.Module):
            raise ModelUnavailableError(f"{path.name} is not a neural network checkpoint.")
        model.eval().requires_grad_(False)  # served, never trained: CAM backward stops at the target layer
        if card.preprocessing.tile:
            # a segmenter of whole photographs: channels-last convolutions answered a 960 px photograph
            # with its Grad-CAM in 293 ms against 389 ms (same arithmetic, another memory layout;
            # measured beside bench_predict's 96-256 px inputs, which it made no faster)
            model = model.to(memory_format=torch.channels_last)
        return model, meta

    def _checkpoint_root(self, path: Path) -> Path:
        """The checkpoint folder a classical model must live in (the deployment's)."""
        from medlearn.train.checkpoints import checkpoint_root

        return checkpoint_root()

    def find_checkpoint(self, case: CaseStudy, arch: str | None) -> Path:
        """The best finished run's checkpoint for ``case`` (and ``arch``): the first of
        :func:`trained_models`. ``arch=None`` considers networks only (the classical
        baseline answers when asked for by name); ``arch="classic"`` finds its folder."""
        models, old = trained_models(case, self._store, arch, with_skipped=True)
        if not models:
            raise _untrained(case, arch, old)
        return Path(models[0].checkpoint)

    def predict(self, case: str, image: MedImage, arch: str | None = None, explain: str | None = "gradcam",
                checkpoint: str | Path | None = None, class_index: int | None = None) -> Prediction:
        """Classify or segment ``image`` for ``case``, explain it, and measure it.

        Args:
            case: case key (``"breast"``...).
            image: the image as read by ``medlearn.data.io.read_image``.
            arch: architecture; None = the best trained network of the case; ``"classic"``
                = the classical baseline.
            explain: CAM method name (``list_methods()``), or None / ``"none"``.
            checkpoint: a specific ``.safetensors`` checkpoint or ``.classic`` folder (overrides ``arch``).
            class_index: class to explain (default: the predicted one).

        Raises:
            ModelUnavailableError: no trained model (the message says how to train one).
            MedlearnInputError / UnknownNameError: bad image, method or case; an image the
                model must not read (see :func:`medlearn.card.check_input`).
        """
        start = time.perf_counter()
        study = get_case(case)
        method = None if explain in (None, "", "none") else get_method(explain).name
        loaded = self.load(checkpoint if checkpoint is not None else self.find_checkpoint(study, arch))
        t_load = time.perf_counter()  # finding and loading the checkpoint: only the first call reads it
        check_model(loaded, study)
        if not loaded.is_network:
            return self._predict_classic(study, loaded, image, start, t_load, method)
        prep = prepare(image, loaded.card, loaded.device, study.title)
        t_prep = time.perf_counter()
        out = forward(loaded, prep.x, study.task.kind, method, class_index)
        t_model = time.perf_counter()
        pred = answer(study, loaded, prep, image, out.logits, out.maps, method, out.targets[0] if out.targets else None,
                      features=row(out.features, 0))
        end = time.perf_counter()
        explain_ms = (t_model - t_prep) * 1000 - out.forward_ms if method else 0.0
        pred.timings = {"load": (t_load - start) * 1000, "preprocess": (t_prep - t_load) * 1000,
                        "forward": out.forward_ms, "explain": explain_ms,
                        "postprocess": (end - t_model) * 1000}
        pred.latency_ms = (end - start) * 1000
        return pred

    def _predict_classic(self, study: CaseStudy, loaded: LoadedModel, image: MedImage, start: float,
                         t_load: float, method: str | None) -> Prediction:
        """The classical baseline: hand-crafted features of the same prepared image, no CAM."""
        card = loaded.card
        notes = check_input(image, card, study.title) + _conversion_notes(image, card)
        prepared = prepared_image(image, card.preprocessing)
        t_prep = time.perf_counter()
        probs = torch.from_numpy(np.asarray(loaded.model.predict_proba([prepared]), np.float32))
        t_model = time.perf_counter()
        notes.append("The classical baseline reads hand-crafted features (intensity, shape, texture) of an "
                     "automatic lesion region (Otsu, nearest the centre)"
                     + ("; it has no Grad-CAM." if method else "."))
        grey = image.to_grey()
        prep = Prepared(torch.empty(0), "same", tuple(image.spatial_shape), grey, notes)
        pred = answer(study, loaded, prep, image, probs, None, None, None, probabilities=True)
        end = time.perf_counter()
        pred.timings = {"load": (t_load - start) * 1000, "preprocess": (t_prep - t_load) * 1000,
                        "forward": (t_model - t_prep) * 1000, "explain": 0.0, "postprocess": (end - t_model) * 1000}
        pred.latency_ms = (end - start) * 1000
        return pred


@dataclass(frozen=True)
class TrainedModel:
    """The best finished run of one architecture (see :func:`trained_models`)."""

    arch: str
    run_id: int
    checkpoint: str
    metric: str
    value: float | None
    source: str
    quick: bool = False  # a first-visit model, trained within a time budget (the full recipe follows)

    @property
    def label(self) -> str:
        data = "phantoms" if self.source == "phantoms" else f"real: {self.source}"
        score = f", validation {self.metric} {self.value:.3f}" if isinstance(self.value, (int, float)) else ""
        return f"{self.arch} (run {self.run_id}, {data}{', quick first model' if self.quick else ''}{score})"


def damaged(config: dict) -> bool:
    """A run trained on purpose on part of its data or on flipped labels (the overfitting
    lesson): a lesson, never the model that answers."""
    return float(config.get("train_fraction") or 1.0) < 1.0 or float(config.get("label_noise") or 0.0) > 0.0


def trained_models(case: CaseStudy, store=None, arch: str | None = None, with_skipped: bool = False,
                   source: str | None = None):
    """The best finished run of each architecture and training data of ``case`` that has a
    model card: models trained on real data first (a real image is answered by a model that
    learnt from real images), then phantom-trained ones, each group best first by the case's
    first metric (ties and unscored runs: newest first). The one definition of "which model
    answers": Predict, its picker, the extras and the CLI use it.

    ``arch=None``: networks only; ``arch="classic"``: the classical baseline's folders. Runs
    trained on a share of their data or on flipped labels (:func:`damaged`) never answer.
    With ``with_skipped``, returns ``(models, number of card-less checkpoints skipped)``.
    ``source``: only runs trained on that data (validation scores on phantoms and on real
    photographs do not rank against each other).
    """
    from medlearn.metrics import LOWER_IS_BETTER, is_better
    from medlearn.train.store import RunStore

    store = store or RunStore()
    metric = case.metrics[0] if case.metrics else "loss"
    wanted = ".classic" if arch == "classic" else ".safetensors"
    best: dict[tuple[str, str], TrainedModel] = {}  # validation scores rank only within one training data
    skipped = 0
    for run in store.list_runs(case=case.key, arch=arch, status="done"):
        path = Path(run.checkpoint or "")
        if source not in (None, run.source) or path.suffix != wanted or not path.exists() \
                or damaged(run.config or {}):
            continue
        if not checkpoint_has_card(path):
            skipped += 1
            continue
        value = (run.metrics or {}).get(metric)
        old = best.get((run.arch, run.source))
        if old is None or (value is not None and is_better(metric, value, old.value)):
            best[run.arch, run.source] = TrainedModel(run.arch, run.id, str(path), metric, value, run.source,
                                          bool((run.config or {}).get("time_budget_s")))
    scored = [m for m in best.values() if is_better(metric, m.value, None)]  # numbers, not NaN
    scored.sort(key=lambda m: m.value, reverse=metric not in LOWER_IS_BETTER)
    ranked = scored + [m for m in best.values() if m not in scored]
    ranked.sort(key=lambda m: m.source == "phantoms")  # stable: real data first, each group in its order
    return (ranked, skipped) if with_skipped else ranked


def check_model(loaded: LoadedModel, case: CaseStudy) -> None:
    """Refuse a checkpoint of another case or class count (a ``--checkpoint`` given by hand)."""
    card = loaded.card
    if card.case != case.key:
        raise MedlearnInputError(f"This checkpoint was trained for case {card.case!r}, not {case.key!r}.")
    if len(card.class_names) != case.task.num_classes:
        raise MedlearnInputError(f"This checkpoint predicts {len(card.class_names)} classes; {case.title} has "
                                 f"{case.task.num_classes}.")


def weights_note(card: ModelCard, case: CaseStudy) -> str:
    """Say plainly which weights answered: architecture, training data, validation score."""
    note = f"{card.arch} {card.weights}"
    metric = case.metrics[0] if case.metrics else None
    if isinstance(card.metrics.get(metric), (int, float)):
        note += f"; validation {metric} {card.metrics[metric]:.3f}"
    balanced = card.metrics.get("balanced_accuracy")
    if card.threshold is not None and isinstance(balanced, float) and balanced == balanced:
        note += f" (at 0.5), balanced accuracy {balanced:.3f} at its operating threshold"
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
