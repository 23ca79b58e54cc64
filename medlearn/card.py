"""The model card: what a trained model is, what it saw, and how its inputs are prepared.

Built once when a model trains (:func:`build_card`) and stored in its checkpoint's
metadata (``meta["card"]``); the predictor, the batching server, ``predict``,
``evaluate`` and the Predict page's "Weights" panel read it and nothing else: no reader
re-derives a default from the case. The validation scores and the operating threshold
are the checkpoint's ``meta["metrics"]`` (written with the weights at each saved epoch),
so they are never a stale copy.

A checkpoint saved before model cards existed has no ``card``: :func:`card_of` refuses it
with a message that says to retrain (its preprocessing cannot be reconstructed with
certainty, and a guess is what made answers differ from training).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from medlearn.errors import MedlearnInputError, ModelUnavailableError
from medlearn.preprocess import Preprocessing

CARD_VERSION = 1

EXTENT_FACTOR = 3.0
"""An input whose field of view is this many times smaller or larger than every training
image's is refused: it is not the kind of image the model reads (or its spacing is wrong)."""

ASPECT_FACTOR = 2.0
"""An input this many times wider (or taller) than the training images gets a warning."""

MIN_PREDICT_SIDE = 16
"""A model answers only for images at least this many pixels each way in-plane: a smaller one
holds too little to classify or outline (it is shown, not diagnosed)."""

COLOUR_SHARE = 0.2
"""A grey model warns when more than this share of an input's pixels are clearly coloured."""


@dataclass(frozen=True)
class Domain:
    """What the training images were like, for the plausibility checks.

    Attributes:
        modalities: modality codes of the training images (``"US"``, ``"MR"``...).
        image_dims: spatial dimensions of the training images (2, 3 or both).
        colour: the training images were colour pictures.
        extent_mm: smallest and largest in-plane field of view (mm, the longer side) of
            the training images whose spacing was known, or None.
        aspect: smallest and largest in-plane width / height of the training images.
    """

    modalities: tuple[str, ...]
    image_dims: tuple[int, ...]
    colour: bool
    extent_mm: tuple[float, float] | None
    aspect: tuple[float, float]


@dataclass(frozen=True)
class ModelCard:
    """One trained model's card (see module doc).

    Attributes:
        case, arch: the case key and the architecture name.
        task: ``"classification"`` or ``"segmentation"``.
        class_names: output classes in order.
        preprocessing: the one input pipeline (:class:`~medlearn.preprocess.Preprocessing`).
        source: training data source (``"phantoms"``, ``"busi"``...).
        n_train, n_val: how many items trained and validated it.
        split_seed: the seed of its patient-level split.
        weights: where the weights come from, in words.
        domain: what the training images were like (:class:`Domain`).
        metrics: the validation scores of the saved weights (``threshold`` included).
        split: how training and validation items were chosen, in words.
    """

    case: str
    arch: str
    task: str
    class_names: tuple[str, ...]
    preprocessing: Preprocessing
    source: str
    n_train: int
    n_val: int
    split_seed: int
    weights: str
    domain: Domain
    metrics: dict = field(default_factory=dict)
    version: int = CARD_VERSION
    split: str = ""

    @property
    def real_data(self) -> bool:
        return self.source != "phantoms"

    @property
    def threshold(self) -> float | None:
        """Operating threshold on p(class 1) of a two-class classifier, chosen on validation."""
        value = self.metrics.get("threshold")
        return float(value) if isinstance(value, (int, float)) and len(self.class_names) == 2 else None

    @property
    def temperature(self) -> float | None:
        """The classifier's temperature (fitted on validation, ``metrics.fit_temperature``), or None."""
        value = self.metrics.get("temperature")
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without ``metrics`` (they live beside it in the checkpoint)."""
        d = asdict(self)
        d.pop("metrics")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], metrics: dict | None = None) -> "ModelCard":
        d = dict(d)
        d["preprocessing"] = Preprocessing.from_dict(d["preprocessing"])
        dom = dict(d["domain"])
        dom["extent_mm"] = tuple(dom["extent_mm"]) if dom.get("extent_mm") else None
        d["domain"] = Domain(**{**dom, "modalities": tuple(dom["modalities"]),
                                "image_dims": tuple(dom["image_dims"]), "aspect": tuple(dom["aspect"])})
        d["class_names"] = tuple(d["class_names"])
        return cls(**d, metrics=dict(metrics or {}))

    def rows(self) -> list[tuple[str, str]]:
        """``(label, text)`` rows for the Predict page's "Weights" panel and the CLI."""
        data = "synthetic phantoms (not real patients)" if not self.real_data else f"real images: {self.source}"
        rows = [("network", f"{self.arch}: {self.weights}"),
                ("training data", f"{data}; {self.n_train} for training, {self.n_val} for validation "
                                  f"({self.split or f'seed {self.split_seed}'})"),
                ("classes", ", ".join(self.class_names))]
        rows += [("preprocessing", line) for line in self.preprocessing.describe()]
        if self.threshold is not None:
            rows.append(("decision", f"{self.class_names[1]} when its probability is at least "
                                     f"{self.threshold:.3f} (chosen on validation: Youden's J)"))
        if self.temperature is not None:
            ece = self.metrics.get("ece_raw"), self.metrics.get("ece")
            gap = (f"; calibration error {ece[0]:.3f} before, {ece[1]:.3f} after"
                   if all(isinstance(e, float) for e in ece) else "")
            rows.append(("calibration", f"probabilities divided in log space by a temperature of "
                                        f"{self.temperature:.2f} fitted on validation{gap}"))
        for label, names in (("validation", _SHOWN_METRICS), ("validation at the threshold", _AT_THRESHOLD)):
            scores = [f"{k.replace('_', ' ')} {self.metrics[k]:.3f}" for k in names
                      if isinstance(self.metrics.get(k), float) and self.metrics[k] == self.metrics[k]]
            if scores and (label == "validation" or self.threshold is not None):
                rows.append((label + (" (decisions at 0.5)" if label == "validation" and self.threshold is not None
                                      else ""), ", ".join(scores)))
        return rows

    def quality_warning(self, metric: str | None) -> str | None:
        """A plain warning when the model scored below :data:`QUALITY_FLOORS` on validation
        (AUC for a two-class model, else the case's main ``metric``), or None."""
        name = "auc" if "auc" in self.metrics and len(self.class_names) == 2 else metric
        value, floor = self.metrics.get(name), QUALITY_FLOORS.get(name or "")
        if not isinstance(value, (int, float)) or floor is None or value != value or value >= floor:
            return None
        what = "its outlines and every measurement made from them" if self.task == "segmentation" else "its answers"
        data = "phantoms" if not self.real_data else f"{self.source} images"
        return (f"This {self.arch} model scored only {name} {value:.3f} on its {self.n_val} validation {data} "
                f"(a useful model reaches {floor:g} or more): {what} are unreliable. Train a better one in the "
                "Train section, or pick another model.")


_SHOWN_METRICS = ("accuracy", "auc", "kappa", "dice", "iou", "hd95", "cpm", "sensitivity_1fp")
_AT_THRESHOLD = ("balanced_accuracy", "sensitivity", "specificity")

QUALITY_FLOORS = {"auc": 0.65, "dice": 0.5, "kappa": 0.2, "accuracy": 0.5, "cpm": 0.3}
"""Below these validation scores a model's answers are called unreliable wherever they show."""

OLD_CHECKPOINT = ("{name} was saved by an older MedLearn without a model card, so how its inputs were "
                  "prepared in training is not known for certain. Retrain it (python -m medlearn prepare "
                  "{case}, or the case page's Train section).")


def card_of(meta: dict[str, Any], name: str = "This checkpoint") -> ModelCard:
    """The card stored in a checkpoint's ``meta``, with its validation ``metrics``.

    Raises:
        ModelUnavailableError: no card (an older checkpoint), or a card of a newer version.
    """
    raw = meta.get("card")
    if not isinstance(raw, dict):
        raise ModelUnavailableError(OLD_CHECKPOINT.format(name=name, case=meta.get("case", "CASE")))
    if int(raw.get("version", 0)) > CARD_VERSION:
        raise ModelUnavailableError(f"{name} has a model card of version {raw['version']}; this MedLearn "
                                    f"reads version {CARD_VERSION}. Update MedLearn.")
    try:
        return ModelCard.from_dict(raw, meta.get("metrics"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelUnavailableError(f"{name} has a damaged model card ({exc}); retrain it.") from None


def checkpoint_has_card(path) -> bool:
    """Whether a checkpoint (a network's file or a classical baseline's folder) exists and has
    a model card. Pages ask on every rerun for every run, so the answer is remembered per file
    and modification time (a retrained checkpoint is read again)."""
    from pathlib import Path

    path = Path(path)
    stamp = path / "medlearn.json" if path.is_dir() else path
    try:
        mtime = stamp.stat().st_mtime_ns
    except OSError:
        return False
    return _has_card(str(path), mtime)


@functools.lru_cache(maxsize=1024)
def _has_card(path: str, mtime_ns: int) -> bool:
    import json
    from pathlib import Path

    from medlearn.train.checkpoints import read_meta

    folder = Path(path)
    try:
        meta = json.loads((folder / "medlearn.json").read_text()) if folder.is_dir() else read_meta(folder)
    except (OSError, ValueError, MedlearnInputError, ModelUnavailableError):
        return False
    return isinstance(meta.get("card"), dict)


def build_domain(images) -> Domain:
    """The :class:`Domain` of training images (MedImages)."""
    extents, aspects = [], []
    for image in images:
        h, w = image.spatial_shape[-2:]
        sy, sx = image.spacing[-2:]
        known = getattr(image, "spacing_known", True)
        aspects.append((w * sx) / (h * sy) if known else w / h)
        if known:
            extents.append(max(h * sy, w * sx))
    return Domain(
        modalities=tuple(sorted({im.modality for im in images})),
        image_dims=tuple(sorted({im.spatial_dims for im in images})),
        colour=any(im.is_rgb for im in images),
        extent_mm=(float(min(extents)), float(max(extents))) if extents else None,
        aspect=(float(min(aspects)), float(max(aspects))),
    )


ANY_DOMAIN = Domain(modalities=("OT",), image_dims=(2, 3), colour=True, extent_mm=None, aspect=(1e-3, 1e3))
"""The domain of a model that saw no images (an untrained network of a benchmark or test):
every plausibility check passes."""


def build_card(plan, case, pre: Preprocessing, train_images, weights: str, n_val: int, split: str = "") -> ModelCard:
    """The card of a model trained by ``plan`` on ``train_images`` with ``pre`` (no images:
    :data:`ANY_DOMAIN`)."""
    train_images = list(train_images)
    return ModelCard(case=case.key, arch=plan.arch, task=case.task.kind, class_names=tuple(case.task.class_names),
                     preprocessing=pre, source=plan.source, n_train=len(train_images), n_val=n_val,
                     split_seed=plan.seed, weights=weights, split=split,
                     domain=build_domain(train_images) if train_images else ANY_DOMAIN)


def check_input(image, card: ModelCard, title: str) -> list[str]:
    """Plausibility of ``image`` for the model of ``card``: notes for what is unusual.

    Raises:
        MedlearnInputError: an input the model cannot or must not read: a 2D image for a
            3D model, a DICOM of another modality, a field of view far outside the
            training images' (e.g. a hippocampus crop given to the heart model).
    """
    pre, dom, notes = card.preprocessing, card.domain, []
    name = f"the {card.arch} model for {title}"
    if image.spatial_dims == 2 and pre.spatial_dims == 3:
        raise MedlearnInputError(f"The {card.arch} model for {title} is a 3D model and needs a volume, but the image is 2D; upload a "
                                 "volume (NIfTI or a DICOM series) or choose a 2D model.")
    tagged = image.modality not in ("", "OT") and image.format in ("dicom", "zip")
    if tagged and "OT" not in dom.modalities and image.modality not in dom.modalities:
        raise MedlearnInputError(f"The file says it is a {image.modality} image; {name} was trained on "
                                 f"{'/'.join(dom.modalities)} images and cannot read it.")
    h, w = image.spatial_shape[-2:]
    if min(h, w) < MIN_PREDICT_SIDE:
        raise MedlearnInputError(f"This image is {h} x {w} pixels: too small for {name} to answer (it needs at "
                                 f"least {MIN_PREDICT_SIDE} pixels each way).")
    sy, sx = image.spacing[-2:]
    known = getattr(image, "spacing_known", True)
    if known and dom.extent_mm:
        extent, (lo, hi) = max(h * sy, w * sx), dom.extent_mm
        if extent < lo / EXTENT_FACTOR or extent > hi * EXTENT_FACTOR:
            raise MedlearnInputError(
                f"This image covers {h * sy:.0f} x {w * sx:.0f} mm; {name} was trained on images covering "
                f"{lo:.0f}-{hi:.0f} mm. It is not the kind of image this model reads (or its pixel spacing "
                "is wrong).")
    aspect = (w * sx) / (h * sy) if known else w / h
    lo, hi = dom.aspect
    if aspect < lo / ASPECT_FACTOR or aspect > hi * ASPECT_FACTOR:
        notes.append(f"This image is {w} x {h} pixels, far {'wider' if aspect > hi else 'taller'} than the "
                     f"training images; the model sees it squeezed to a square, so trust the answer less.")
    if image.is_rgb and not dom.colour and colour_share(image.pixels) > COLOUR_SHARE:
        notes.append(f"This is a colour picture; {name} was trained on grey images, so it sees the picture's "
                     "brightness only. A colour photograph is probably not the kind of image it reads.")
    return notes


def colour_share(rgb: np.ndarray) -> float:
    """Share of pixels whose channels differ by more than 30 of 255 levels (clearly coloured)."""
    sample = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256), :3].astype(np.int16)
    scale = 1.0 if rgb.dtype == np.uint8 else 255.0 / max(float(sample.max()), 1.0)
    spread = (sample.max(-1) - sample.min(-1)) * scale
    return float((spread > 30).mean())
