"""Pipelines and files of the classical baseline (see :mod:`medlearn.models.classic`).

File layout of a saved model folder:

* ``classic.json``: config, feature names, classes, format version, and for tree
  ensembles the SHA-256 of ``pipeline.joblib``;
* ``weights.npz`` (logistic regression): scaler mean/scale, coefficients, intercepts,
  read with ``allow_pickle=False`` -- plain numbers, safe to open;
* ``pipeline.joblib`` (random forest / gradient boosting): a pickle. joblib runs code
  when loading, so only folders MedLearn wrote in its own data home may be loaded;
  never pass a user's upload here. The recorded hash catches a swapped or damaged file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from medlearn.errors import MedlearnInputError

FORMAT = "medlearn-classic/1"


def make_pipeline(config: Any) -> Pipeline:
    """``StandardScaler`` + the configured classifier."""
    if config.classifier == "random_forest":
        clf = RandomForestClassifier(n_estimators=config.n_estimators, random_state=config.seed,
                                     class_weight="balanced", n_jobs=1)
    elif config.classifier == "gradient_boosting":
        clf = GradientBoostingClassifier(n_estimators=config.n_estimators, random_state=config.seed)
    else:
        clf = LogisticRegression(max_iter=2000, class_weight="balanced")
    return Pipeline([("scale", StandardScaler()), ("classify", clf)])


def save(model: Any, folder: Path) -> Path:
    """Write ``model`` (a fitted ClassicalClassifier) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "config": asdict(model.config), "feature_names": model.feature_names,
            "classes": model.pipeline.classes_.tolist()}
    scaler, clf = model.pipeline[0], model.pipeline[-1]
    if isinstance(clf, LogisticRegression):
        np.savez(folder / "weights.npz", mean=scaler.mean_, scale=scaler.scale_, var=scaler.var_,
                 coef=clf.coef_, intercept=clf.intercept_)
    else:
        joblib.dump(model.pipeline, folder / "pipeline.joblib")
        meta["sha256"] = _sha256(folder / "pipeline.joblib")
    (folder / "classic.json").write_text(json.dumps(meta, indent=1))
    return folder


def load(cls: type, folder: Path) -> Any:
    """Rebuild a ClassicalClassifier saved by :func:`save` (MedLearn's own folders only)."""
    try:
        meta = json.loads((folder / "classic.json").read_text())
    except (OSError, ValueError):
        raise MedlearnInputError(f"{folder} is not a saved MedLearn classical model.") from None
    if meta.get("format") != FORMAT:
        raise MedlearnInputError(f"{folder} was not written by this version of MedLearn.")
    model = cls(None, **meta["config"])
    classes = np.asarray(meta["classes"])
    if model.config.classifier == "logistic":
        model.pipeline = _logistic_from_npz(model.config, folder / "weights.npz", classes)
    else:
        path = folder / "pipeline.joblib"
        if not path.is_file() or _sha256(path) != meta.get("sha256"):
            raise MedlearnInputError(f"{path.name} is missing or was changed after MedLearn saved it.")
        model.pipeline = joblib.load(path)
    model._names = list(meta["feature_names"])
    model.medlearn_weights = f"loaded from {folder.name}"
    return model


def _logistic_from_npz(config: Any, path: Path, classes: np.ndarray) -> Pipeline:
    try:
        with np.load(path, allow_pickle=False) as w:
            arrays = {k: w[k] for k in ("mean", "scale", "var", "coef", "intercept")}
    except (OSError, KeyError, ValueError):
        raise MedlearnInputError(f"{path.name} is missing or damaged.") from None
    pipeline = make_pipeline(config)
    scaler, clf = pipeline[0], pipeline[-1]
    scaler.mean_, scaler.scale_, scaler.var_ = arrays["mean"], arrays["scale"], arrays["var"]
    scaler.n_features_in_ = clf.n_features_in_ = arrays["mean"].shape[0]
    scaler.n_samples_seen_ = 1
    clf.coef_, clf.intercept_, clf.classes_ = arrays["coef"], arrays["intercept"], classes
    return pipeline


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
