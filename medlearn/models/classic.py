"""The classical baseline: hand-crafted features and a scikit-learn classifier.

``ClassicalClassifier`` turns each image (and optional lesion mask) into the features
of :mod:`medlearn.models.features`, then fits a scikit-learn ``Pipeline``
(``StandardScaler`` + random forest, gradient boosting or logistic regression).
On small data sets such models can beat CNNs (NoduleMNIST3D: auto-sklearn AUC 0.914
against 0.863 for a 3D ResNet-18), which is what the lung case teaches.

Saving: logistic models are stored as JSON + ``.npz`` (no code can hide in them).
Tree ensembles need joblib (pickle), so :meth:`ClassicalClassifier.load` only reads
folders MedLearn wrote itself and checks the file hash recorded at save time. Never
load a model file a user uploaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from medlearn.errors import MedlearnInputError
from medlearn.models import classic_io
from medlearn.models.features import colour_features, image_features, lesion_region
from medlearn.models.registry import register_model

CLASSIFIERS = ("random_forest", "gradient_boosting", "logistic")


@dataclass(frozen=True)
class ClassicConfig:
    """Settings of the classical baseline (defaults train in seconds on a CPU).

    Attributes:
        num_classes: number of classes K (``predict_proba`` returns ``(N, K)``).
        spatial_dims: 2 for pictures/slices ``(H, W[, 3])``, 3 for volumes ``(Z, Y, X)``.
        in_channels: 3 adds colour features for ``(H, W, 3)`` pictures.
        classifier: one of ``CLASSIFIERS``.
        n_estimators: trees of the ensembles.
        otsu_polarity: ``"bright"`` or ``"dark"`` lesions when no mask is given.
        glcm_levels: grey levels of the co-occurrence matrix.
        seed: random state of the classifier.
    """

    num_classes: int = 2
    spatial_dims: int = 2
    in_channels: int = 1
    classifier: str = "random_forest"
    n_estimators: int = 200
    otsu_polarity: str = "bright"
    glcm_levels: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise MedlearnInputError(f"Unknown classifier {self.classifier!r}; choose one of {CLASSIFIERS}.")
        if self.spatial_dims not in (2, 3) or self.num_classes < 2:
            raise MedlearnInputError("The classical baseline needs 2D or 3D images and at least 2 classes.")
        if self.otsu_polarity not in ("bright", "dark") or not 2 <= self.glcm_levels <= 256:
            raise MedlearnInputError("otsu_polarity must be 'bright' or 'dark', glcm_levels 2-256.")


class ClassicalClassifier:
    """Features + scikit-learn classifier with the ``fit`` / ``predict_proba`` contract.

    Args:
        config: a :class:`ClassicConfig`, a ``CaseStudy`` (its task gives classes,
            dims and channels), or None for defaults; ``overrides`` replace fields.
    """

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        if config is not None and hasattr(config, "task"):  # a CaseStudy
            task = config.task
            config = ClassicConfig(num_classes=task.num_classes, spatial_dims=task.spatial_dims,
                                   in_channels=task.in_channels)
        base = asdict(config) if config is not None else {}
        unknown = set(overrides) - {f.name for f in fields(ClassicConfig)}
        if unknown:
            raise MedlearnInputError(f"The classical baseline has no option {', '.join(sorted(unknown))}.")
        self.config = ClassicConfig(**{**base, **overrides})
        self.pipeline = None
        self.medlearn_weights = "not fitted yet"
        self._names: list[str] | None = None

    @property
    def feature_names(self) -> list[str]:
        """Names of the feature columns, in order."""
        if self._names is None:
            shape = (16, 16, 3) if self.config.in_channels == 3 else (16,) * self.config.spatial_dims
            self.features([np.random.default_rng(0).random(shape)])
        return list(self._names)

    def features(self, images: Sequence[Any], masks: Sequence[Any] | None = None) -> np.ndarray:
        """Feature matrix ``(N, F)`` of images (arrays or ``MedImage``) and optional masks."""
        images = list(images)
        if not images:
            raise MedlearnInputError("No images were given to the classical baseline.")
        masks = [None] * len(images) if masks is None else list(masks)
        if len(masks) != len(images):
            raise MedlearnInputError(f"Got {len(images)} images but {len(masks)} masks.")
        rows = [self._one(img, m) for img, m in zip(images, masks)]
        self._names = list(rows[0])
        return np.array([list(r.values()) for r in rows], dtype=np.float64)

    def fit(self, images: Sequence[Any], labels: Sequence[int], masks: Sequence[Any] | None = None):
        """Extract features and fit the pipeline. Returns ``self``."""
        images = list(images)
        y = self._labels(labels, len(images))
        x = self.features(images, masks)
        self.pipeline = classic_io.make_pipeline(self.config)
        self.pipeline.fit(x, y)
        self.medlearn_weights = f"fitted on {len(y)} images"
        return self

    def predict_proba(self, images: Sequence[Any], masks: Sequence[Any] | None = None) -> np.ndarray:
        """Class probabilities ``(N, K)``; classes absent from training get probability 0."""
        self._require_fitted()
        proba = self.pipeline.predict_proba(self.features(images, masks))
        out = np.zeros((proba.shape[0], self.config.num_classes))
        out[:, self.pipeline.classes_.astype(int)] = proba
        return out

    def predict(self, images: Sequence[Any], masks: Sequence[Any] | None = None) -> np.ndarray:
        """Most probable class per image ``(N,)``."""
        return self.predict_proba(images, masks).argmax(axis=1)

    def feature_importance(self) -> list[tuple[str, float]]:
        """``(feature name, importance)`` pairs, most important first, summing to 1."""
        self._require_fitted()
        clf = self.pipeline[-1]
        raw = (clf.feature_importances_ if hasattr(clf, "feature_importances_")
               else np.abs(clf.coef_).mean(axis=0))
        weights = raw / raw.sum() if raw.sum() > 0 else raw
        return sorted(zip(self.feature_names, map(float, weights)), key=lambda p: -p[1])

    def save(self, path: str | Path) -> Path:
        """Write the fitted model into the folder ``path`` (created). Returns the folder."""
        self._require_fitted()
        return classic_io.save(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "ClassicalClassifier":
        """Read a folder written by :meth:`save` (MedLearn's own files only, never uploads)."""
        return classic_io.load(cls, Path(path))

    def _one(self, image: Any, mask: Any) -> dict[str, float]:
        pixels = np.asarray(getattr(image, "pixels", image), dtype=np.float64)
        colour = self.config.spatial_dims == 2 and pixels.ndim == 3 and pixels.shape[-1] in (3, 4)
        grey = pixels[..., :3] @ np.array([0.299, 0.587, 0.114]) if colour else pixels
        if grey.ndim != self.config.spatial_dims or min(grey.shape) < 4 or not np.isfinite(grey).all():
            raise MedlearnInputError(
                f"The classical baseline was set up for {self.config.spatial_dims}D images; got an "
                f"array of shape {pixels.shape} (needs at least 4 pixels per side, finite values).")
        if mask is not None and np.shape(mask) != grey.shape:
            raise MedlearnInputError(f"Mask shape {np.shape(mask)} does not match image shape {grey.shape}.")
        region = lesion_region(grey, mask, self.config.otsu_polarity)
        feats = image_features(grey, region, self.config.glcm_levels)
        if self.config.in_channels == 3:
            feats.update(colour_features(pixels[..., :3] if colour else np.stack([grey] * 3, -1), region))
        return feats

    def _labels(self, labels: Sequence[int], n: int) -> np.ndarray:
        if n == 0:
            raise MedlearnInputError("No images were given to the classical baseline.")
        y = np.asarray(labels)
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(int)  # 0.0 / 1.0 labels are fine
        if y.shape != (n,) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= self.config.num_classes:
            raise MedlearnInputError(
                f"Labels must be {n} whole numbers from 0 to {self.config.num_classes - 1}.")
        if len(np.unique(y)) < 2:
            raise MedlearnInputError("Training needs images of at least two different classes.")
        return y

    def _require_fitted(self) -> None:
        if self.pipeline is None:
            raise MedlearnInputError("The classical baseline has not been trained yet: call fit first.")


@register_model(
    "classic", task="classification", spatial_dims=(2, 3), title="Classical features + classifier",
    paper="Lambin P, et al. Radiomics: extracting more information from medical images using "
          "advanced feature analysis. Eur J Cancer 2012;48(4):441-446.",
    library="scikit-learn", framework="sklearn", min_size=4,
    width_note="Not used: hand-crafted features have no channels to scale.")
def build_classic(in_channels: int, num_classes: int, spatial_dims: int, width: int,
                  input_size: int | None, classifier: str = "random_forest", n_estimators: int = 200,
                  otsu_polarity: str = "bright", seed: int = 0) -> ClassicalClassifier:
    """The classical baseline; returns a :class:`ClassicalClassifier`, not an ``nn.Module``."""
    return ClassicalClassifier(ClassicConfig(num_classes=num_classes, spatial_dims=spatial_dims,
                                             in_channels=in_channels, classifier=classifier,
                                             n_estimators=n_estimators, otsu_polarity=otsu_polarity,
                                             seed=seed))
