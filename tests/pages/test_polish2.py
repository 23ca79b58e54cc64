"""Issue 16 item 13 leftovers: honest spacing and sample words, a true class-filter hint, the
canvas while a model trains, a playing cine, and the ACE panel on the browser's case."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from medlearn.data.image import MedImage
from ui.explore.browser import LIMITS, no_match_words
from ui.explore.cine import next_phase
from ui.shared.viewers import _caption, spacing_words

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page(f"pages/{page}.py").run()
    _clean(at)
    return at


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _captions(at: AppTest) -> list[str]:
    return [img.caption for e in at.get("image") for img in e.proto.imgs] + [c.value for c in at.caption]


# 1. A picture without pixel spacing never reads "1 × 1 mm".

def test_a_picture_without_spacing_says_so_and_a_known_spacing_reads_short():
    photo = MedImage(np.zeros((4, 5, 3), np.uint8), modality="OP")  # spacing stands in as 1 mm, unknown
    assert photo.spacing == (1.0, 1.0) and spacing_words(photo) == "no pixel spacing in the file"
    caption = _caption(photo, "fundus", None, None, (), 0.0, False)
    assert "no pixel spacing in the file" in caption and "mm" not in caption
    phantom = MedImage(np.zeros((4, 5)), spacing=(0.0956633, 0.0956633))
    assert spacing_words(phantom) == "spacing 0.0957 × 0.0957 mm"


# 2 and 1 on the page: the gastric sample is called an IHC slide, not a fundus photograph.

def test_gastric_package_sample_is_described_as_the_ihc_slide_it_is():
    at = _open("gastric")
    at.selectbox(key="browser.gastric.source").set_value("skimage_samples").run()
    _clean(at)
    text = " ".join(_captions(at))
    assert "fundus" not in text.lower(), text  # (the licence line still names every shipped image's licence)
    assert "immunohistochemistry (IHC) slide of colonic glands" in text  # the source line, for this case
    viewer = next(c for c in _captions(at) if c.startswith("skimage_immunohistochemistry · "))
    assert "IHC (DAB)" in viewer and "no pixel spacing in the file" in viewer and "1 × 1 mm" not in viewer


# 3. The class filter advises more samples only when the source may hold more.

def test_no_match_words_say_what_would_help():
    assert "has no more for this case" in no_match_words(2, 24, "scikit-image sample images", "Mild NPDR")
    assert "load more" not in no_match_words(2, 24, "scikit-image sample images", "Mild NPDR")
    assert "load more samples" in no_match_words(24, 24, "RetinaMNIST", "Mild NPDR")
    most = no_match_words(LIMITS[-1], LIMITS[-1], "RetinaMNIST", "Mild NPDR")
    assert "load more" not in most and "the most the browser loads" in most
    assert no_match_words(1, 12, "X", "benign").startswith("None of the 1 loaded sample is benign")


def test_class_filter_on_a_two_image_source_does_not_ask_for_more():
    at = _open("retina")
    at.selectbox(key="browser.retina.source").set_value("skimage_samples").run()
    at.selectbox(key="browser.retina.class").set_value("Mild NPDR").run()
    _clean(at)
    [info] = [i.value for i in at.info if "None of the" in i.value]
    assert "None of the 2 loaded samples" in info and "has no more for this case" in info
    assert "load more" not in info


# 4. The paint canvas while the case's model trains.

class TrainingManager:
    """A job manager with one running retina job (the real one would spawn a worker)."""

    def __init__(self):
        self.store = self
        self.live = True

    def jobs(self):
        job = types.SimpleNamespace(id=5, kwargs={"case_key": "retina", "arch": "resnet18", "epochs": 4},
                                    status="running" if self.live else "done", error=None)
        return [job]

    def status(self, job_id):
        return "running" if self.live else "done"

    def job(self, job_id):
        return self.jobs()[0]

    def metrics(self, job_id, kind=None, since=0):
        from medlearn.train.records import BatchProgress

        return [BatchProgress(job_id, epoch=2, batch=1, batches=2, loss=0.7)]

    def get_run(self, job_id):
        return types.SimpleNamespace(epochs=[], error=None, seconds=None, checkpoint=None)


def test_canvas_says_a_model_is_training_and_will_be_used(monkeypatch):
    from ui.train import jobs
    fake = TrainingManager()
    monkeypatch.setattr(jobs, "manager", lambda: fake)
    at = _open("retina")
    at.toggle(key="extra.retina.paint.on").set_value(True).run()
    _clean(at)
    infos = [i.value for i in at.info]
    assert not any("train one" in i for i in infos), infos
    assert any("training now (resnet18, job 5: 38% done)" in i and "as soon as it is ready" in i for i in infos), infos
    fake.live = False  # the job ended without a model (here: nothing saved): the section says so
    at.run()
    _clean(at)
    assert any("No trained retina model yet" in i.value for i in at.info)


def test_a_queued_job_says_where_it_waits(monkeypatch):
    from ui.train import jobs
    from ui.explore.extras.retina_canvas import training_words

    monkeypatch.setattr(jobs, "wait_words", lambda job_id: f"Waiting for a free CPU core: job {job_id} is next.")
    words = training_words(types.SimpleNamespace(id=9, status="queued", arch="resnet18", progress=0.0))
    assert words.startswith("Waiting for a free CPU core: job 9") and "as soon as it is ready" in words


# 5. The cine plays.

def test_next_phase_wraps_after_the_last():
    assert [next_phase(p, 4) for p in (1, 2, 3, 4)] == [2, 3, 4, 1]
    assert next_phase(9, 4) == 1  # a phase of another cine starts over


def test_cine_has_a_play_switch_that_steps_the_phase():
    at = _open("heart")
    phase = at.slider(key="cine.phase").value
    play = at.toggle(key="cine.play")
    assert play.value is False and "Play" in play.label
    play.set_value(True).run()  # the playing frame steps once per tick (AppTest runs the first tick)
    _clean(at)
    assert at.slider(key="cine.phase").value == phase + 1
    assert any(c.startswith(f"Phase {phase + 1}/") for c in _captions(at))
    at.toggle(key="cine.play").set_value(False).run()  # paused: the phase stays
    _clean(at)
    assert at.slider(key="cine.phase").value == phase + 1


# 6. The ACE panel shows the browser's case.

def test_ace_panel_enhances_the_case_open_in_the_browser():
    at = _open("breast")
    assert "extra.breast.ace.seed" not in [n.key for n in at.number_input]
    at.number_input(key="lab.breast.seed").set_value(3).run()
    _clean(at)
    captions = [img.caption for e in at.get("image") for img in e.proto.imgs]
    assert any(c.startswith("Original: Synthetic") and c.endswith("seed 3") for c in captions), captions
    assert any("Synthetic" in c and "seed 3" in c and "spacing" in c for c in at.caption.values)
