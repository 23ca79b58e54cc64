"""Shared test fixtures: an isolated data home, the mirror, small thread counts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # Tests run on small CPUs beside other work: one intra-op thread keeps them predictable.
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a hard requirement
        pass


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own MEDLEARN_HOME so runs, checkpoints and downloads never leak."""
    home = tmp_path_factory.mktemp("medlearn_home")
    monkeypatch.setenv("MEDLEARN_HOME", str(home))
    for name in ("MEDLEARN_DATABASE_URL", "MEDLEARN_CHECKPOINT_DIR", "MEDLEARN_RAY_ADDRESS"):  # never a developer's own
        monkeypatch.delenv(name, raising=False)
    # A Predict section without a model would start training in a worker process; tests
    # that want it set MEDLEARN_AUTOTRAIN=1 with a stand-in job manager.
    monkeypatch.setenv("MEDLEARN_AUTOTRAIN", "0")
    # Nothing in a test reaches the internet: the download offer's online check asks a closed
    # local port (download tests point this at their own 127.0.0.1 server).
    monkeypatch.setenv("MEDLEARN_DOWNLOAD_BASE", "http://127.0.0.1:9")
    return home


@pytest.fixture
def mirror() -> Path:
    """The local mirror of real datasets; skips when MEDLEARN_MIRROR is unset."""
    path = os.environ.get("MEDLEARN_MIRROR")
    if not path:
        pytest.skip("MEDLEARN_MIRROR is not set: the real-data mirror is not available here")
    p = Path(path)
    if not p.is_dir():
        pytest.skip(f"MEDLEARN_MIRROR={path} is not a folder")
    return p


@pytest.fixture
def exact_masks(monkeypatch):
    """The real prediction (model loaded, preprocessed, forward) of a synthetic cine frame
    (``tests/cine_dicom.py``), with its exact labels as the mask: numbers known in advance.
    Returns the list of ``explain`` arguments the predictor was called with."""
    from cine_dicom import threshold_segment

    from medlearn.predict import Predictor

    original = Predictor.predict
    calls = []

    def predict(self, case, image, arch=None, explain="gradcam", checkpoint=None, class_index=None):
        calls.append(explain)
        pred = original(self, case, image, arch=arch, explain=explain, checkpoint=checkpoint, class_index=class_index)
        assert pred.mask.shape == image.spatial_shape
        pred.mask = threshold_segment(image)
        return pred

    monkeypatch.setattr(Predictor, "predict", predict)
    return calls
