"""Retina lesion painting: off until opened, no torch before that, one model call per drawing."""

from __future__ import annotations

import os

import numpy as np

from ui.explore.extras import retina_canvas
from ui.explore.extras.retina_canvas import drawing_signature

from fresh_process import run_app_script
from model_fixtures import make_checkpoint

KEY = "extra.retina.paint"
HEAVY = ("torch", "monai", "medlearn.models", "medlearn.predict", "pytorch_grad_cam")
EXPLORE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
at.switch_page("pages/retina.py").run()
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({"toggle": at.toggle(key="extra.retina.paint.on").value,
                  "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_signature_follows_the_painted_pixels_seed_and_checkpoint(tmp_path):
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"weights")
    blank = np.zeros((16, 16, 4), np.uint8)
    painted = blank.copy()
    painted[3, 4] = (142, 27, 18, 255)
    path = str(checkpoint)
    base = drawing_signature(0, None, path)
    assert drawing_signature(0, blank, path) == base  # an empty canvas is no drawing
    assert drawing_signature(0, painted.copy(), path) == drawing_signature(0, painted, path) != base
    assert drawing_signature(1, None, path) != base
    os.utime(checkpoint, ns=(1, 1))  # a retrained checkpoint is graded again
    assert drawing_signature(0, None, path) != base


def test_closed_canvas_imports_no_torch(tmp_path):
    """The retina Explore section draws without torch or the predictor while the canvas is closed."""
    result = run_app_script(tmp_path, EXPLORE, *HEAVY)
    assert result == {"toggle": False, "heavy": []}, result


def test_painting_is_graded_once_per_drawing(open_page, assert_clean, monkeypatch):
    make_checkpoint("retina")
    calls = []
    grade = retina_canvas.grade_painting
    monkeypatch.setattr(retina_canvas, "grade_painting", lambda *a: calls.append(a[2]) or grade(*a))
    at = open_page("retina")
    assert not calls and not _cam_captions(at)
    at.toggle(key=f"{KEY}.on").set_value(True).run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert len(calls) == 1 and _cam_captions(at)
    at.slider(key=f"{KEY}.brush").set_value(12).run()  # a rerun with the same drawing: the kept answer
    at.radio(key=f"{KEY}.lesion").set_value(list(retina_canvas.LESIONS)[1]).run()
    assert_clean(at)
    assert len(calls) == 1 and _cam_captions(at)
    at.number_input(key=f"{KEY}.seed").set_value(3).run()  # another fundus: graded again
    assert len(calls) == 2 and _cam_captions(at)


def _cam_captions(at) -> list[str]:
    return [img.caption for e in at.get("image") for img in e.proto.imgs if "Grad-CAM" in img.caption]
