"""The Predict section on every case page, uploads, Try-your-own, quiz, challenge helpers and export.

Models are fresh (untrained) networks saved with ``save_checkpoint`` and recorded as a
finished run in the test's own MEDLEARN_HOME: the pages must work with any weights.
"""

from __future__ import annotations

import io
import json
import types

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from medlearn.cases import get_case, list_cases
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError
from medlearn.predict import Prediction
from ui.shared import icons
from ui.predict.beat_model import canvas_mask, dice, occlude, probability_change
from ui.predict.export import mask_nifti, png_bytes, report, report_csv, report_json, report_overlay, split_unit
from ui.predict.quiz import record_answer, tally

from model_fixtures import make_checkpoint  # shared with test_extras and the browser test

DISCLAIMER = "For teaching, not for clinical use."

PREDICT = "Predict"


def predict_page(open_page, key: str):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value(PREDICT).run()
    return at


def texts(at) -> str:
    """Markdown, captions (also of images) and info boxes of a run, as one string."""
    images = [img.caption for element in at.get("image") for img in element.proto.imgs]
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + images)


@pytest.mark.parametrize("key", [c.key for c in list_cases()])
def test_predict_section_shows_a_prediction(key, open_page, assert_clean):
    make_checkpoint(key)
    at = predict_page(open_page, key)
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert DISCLAIMER in shown and "### Model:" in shown and f"{icons.TIMER} Answered in" in shown
    assert "trained from scratch by MedLearn on synthetic phantoms" in shown  # honest weights note
    assert "heat map" in shown  # the caption says what the map shows
    assert len(at.get("image")) >= 2  # explanation beside the truth (mask or lesion map)
    assert len(at.get("download_button")) >= 3
    case = get_case(key)
    if case.task.is_segmentation:
        assert any(m.label.startswith("Dice") for m in at.metric)
    else:
        assert at.get("plotly_chart") and any("lesion" in m.label for m in at.metric)
    at.slider(key=f"predict.{key}.view.opacity").set_value(0.8).run()  # fragment rerun, no model call
    assert_clean(at)
    at.selectbox(key=f"predict.{key}.method").set_value("eigencam").run()
    assert_clean(at)
    assert "EigenCAM heat map" in texts(at)


def test_a_phantom_lesion_map_is_named_by_lesion_not_by_grade(open_page, assert_clean):
    make_checkpoint("retina")
    at = predict_page(open_page, "retina")  # phantom seed 0: a grade-4 eye with several lesion kinds
    assert_clean(at)
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    truth = next(c for c in captions if c.startswith("True lesion map"))
    assert "microaneurysm" in truth and "haemorrhage" in truth and "NPDR" not in truth and "label " not in truth


def test_a_classifier_measures_an_automatic_outline_and_says_so(open_page, assert_clean):
    make_checkpoint("lung")
    at = predict_page(open_page, "lung")
    assert_clean(at)
    assert any("Clinical measurements** (automatic outline vs ground truth)" in m.value for m in at.markdown)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["measurement", "unit", "automatic outline", "truth"]
    assert not table.isin(["None", "nan"]).any().any() and table.isin(["—"]).any().any()  # sizes not both known


@pytest.fixture
def clickable(monkeypatch):
    """Buttons under AppTest: ``url_state.ensure_router`` reruns every AppTest run (AppTest resets
    Streamlit's pages-directory flag), which would swallow a button's click."""
    from ui.shared import url_state
    monkeypatch.setattr(url_state, "ensure_router", lambda: None)


class FakeManager:
    """Stands in for the job manager: the real one spawns a training process."""

    def __init__(self, live=None):
        self.submitted = []
        self.store = self
        self.live = live

    def find_live(self, case, arch, source="phantoms", **choices):
        self.asked = choices
        return self.live

    def submit(self, case, arch, source="phantoms", **kwargs):
        self.submitted.append((case, arch, source))
        self.kwargs = kwargs
        return 7

    def status(self, job_id):
        return "running"

    def job(self, job_id):
        return types.SimpleNamespace(kwargs={"case_key": "breast", "arch": "alexnet", "epochs": 6}, error=None)

    def metrics(self, job_id, kind=None, since=0):
        from medlearn.train.records import BatchProgress

        return [BatchProgress(job_id, epoch=2, batch=3, batches=6, loss=0.7)]

    def get_run(self, job_id):
        return types.SimpleNamespace(epochs=[], error=None, seconds=None, checkpoint=None)


def best_source(case_key: str) -> str:
    from medlearn.cases import get_case
    from medlearn.data.sources.choice import default_source

    return default_source(get_case(case_key))


def test_a_poor_model_is_called_unreliable_above_its_answer(open_page, assert_clean):
    make_checkpoint("heart", score=0.004)
    at = predict_page(open_page, "heart")
    assert_clean(at)
    assert any("scored only dice 0.004" in w.value and "unreliable" in w.value for w in at.warning)


def first_network(source: str) -> str:
    """The default network of the breast recipe for that data (ResNet-18 on BUSI, AlexNet on phantoms)."""
    from medlearn.cases import get_case

    return get_case("breast").recipe_for(source).first_network


def test_no_model_says_so_and_starts_training(monkeypatch, clickable, open_page, assert_clean):
    from ui.train import jobs
    fake = FakeManager()
    monkeypatch.setattr(jobs, "manager", lambda: fake)
    at = predict_page(open_page, "breast")
    assert_clean(at)
    assert any("No trained model" in i.value for i in at.info)
    at.button(key="predict.breast.train").click().run()
    assert_clean(at)
    assert fake.submitted == [("breast", first_network(best_source("breast")), best_source("breast"))]
    assert fake.kwargs == {"time_budget_s": 40.0}  # a quick first model, ready within about a minute
    bar = at.get("progress")[0].proto
    assert "Training job 7 (alexnet): epoch 2 of 6" in bar.text and bar.value == 25  # 1.5 of 6 epochs


def test_first_visit_trains_the_default_model_by_itself_once(monkeypatch, open_page, assert_clean):
    from ui.train import jobs
    monkeypatch.setenv("MEDLEARN_AUTOTRAIN", "1")
    fake = FakeManager()
    monkeypatch.setattr(jobs, "manager", lambda: fake)
    at = predict_page(open_page, "breast")
    assert_clean(at)
    source = best_source("breast")  # the mirror's BUSI when it is set, else phantoms
    assert fake.submitted == [("breast", first_network(source), source)]  # no click needed
    assert any(("real images (BUSI" if source == "busi" else "synthetic phantoms") in i.value for i in at.info)
    assert "epoch 2 of 6" in at.get("progress")[0].proto.text
    assert at.get("plotly_chart")  # the live loss curve
    at.run()
    assert fake.submitted == [("breast", first_network(source), source)]  # not again on a rerun


def test_a_second_student_follows_the_job_already_running(monkeypatch, open_page, assert_clean):
    from ui.train import jobs
    monkeypatch.setenv("MEDLEARN_AUTOTRAIN", "1")
    fake = FakeManager(live=7)
    monkeypatch.setattr(jobs, "manager", lambda: fake)
    at = predict_page(open_page, "breast")
    assert_clean(at)
    assert fake.submitted == [] and "Training job 7" in at.get("progress")[0].proto.text


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 40), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _nifti(tmp_path) -> bytes:
    path = tmp_path / "volume.nii.gz"
    nib.save(nib.Nifti1Image(np.random.default_rng(1).normal(100, 20, (20, 24, 12)).astype(np.float32),
                             np.eye(4)), path)
    return path.read_bytes()


def _upload(at, key: str, name: str, data: bytes):
    at.radio(key=f"predict.{key}.input").set_value("Upload").run()
    at.file_uploader(key=f"predict.{key}.upload.widget").set_value((name, data, "application/octet-stream")).run()
    return at


def test_corrupt_upload_shows_an_error(open_page, assert_clean):
    make_checkpoint("breast")
    at = _upload(predict_page(open_page, "breast"), "breast", "broken.dcm", b"DICM not really an image")
    assert_clean(at)
    assert at.error and DISCLAIMER not in texts(at)


def test_volume_on_a_2d_case_uses_the_central_slice(tmp_path, open_page, assert_clean):
    make_checkpoint("breast")
    at = _upload(predict_page(open_page, "breast"), "breast", "volume.nii.gz", _nifti(tmp_path))
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert "central slice" in texts(at) and DISCLAIMER in texts(at)


def test_try_your_own_predicts_in_the_chosen_case(open_page, assert_clean):
    make_checkpoint("breast")
    at = open_page("try_your_own")
    at.file_uploader(key="upload.widget").set_value(("scan.png", _png(), "image/png")).run()
    at.radio(key="upload.case").set_value("breast").run()
    assert_clean(at)
    shown = texts(at)
    assert "Prediction in the Breast ultrasound case" in "\n".join(h.value for h in at.header)
    assert DISCLAIMER in shown and "### Model:" in shown


def test_quiz_hides_the_answer_until_the_student_commits(clickable, open_page, assert_clean):
    make_checkpoint("breast")
    at = predict_page(open_page, "breast")
    at.toggle(key="quiz.breast.on").set_value(True).run()
    assert_clean(at)
    assert "### Model:" not in texts(at)
    assert any("The image to judge" in (img.caption or "") for e in at.get("image") for img in e.proto.imgs) or \
        any("The image to judge" in c.value for c in at.caption)  # the question shows its picture
    truth = "malignant"  # phantom seed 0 of the breast generator
    at.radio(key="quiz.breast.call.phantom:0:0.5").set_value(truth).run()
    at.button(key="quiz.breast.commit").click().run()
    assert_clean(at)
    assert "### Model:" in texts(at)
    you = next(m for m in at.metric if m.label == "You")
    assert you.value == "1 / 1"
    at.button(key="quiz.breast.next").click().run()  # next phantom: the call is asked again
    assert_clean(at)
    assert "### Model:" not in texts(at)


def test_quiz_scoring_counts_first_calls_only():
    answers = record_answer({}, "a", "malignant", "benign", "malignant")
    answers = record_answer(answers, "b", "benign", "benign", "malignant")
    answers = record_answer(answers, "a", "benign", "benign", "malignant")  # a second try does not count
    score = tally(answers)
    assert (score.rounds, score.student, score.model) == (2, 1, 0)
    assert score.verdict == "You are ahead of the model."
    assert tally({}).verdict == "No rounds yet."


def test_canvas_mask_fills_outlines_and_resizes():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10, 3] = rgba[10:30, 29, 3] = rgba[10, 10:30, 3] = rgba[29, 10:30, 3] = 255  # a square outline
    filled = canvas_mask(rgba, (20, 20))
    assert filled.shape == (20, 20) and filled[10, 10] and not filled[0, 0]
    assert not canvas_mask(rgba, (20, 20), fill=False)[10, 10]
    assert canvas_mask(rgba, (40, 40), fill=False).sum() == 76  # the outline alone, at full size
    assert not canvas_mask(None, (5, 5)).any()
    with pytest.raises(MedlearnInputError):
        canvas_mask(np.zeros((4, 4, 3)), (4, 4))


def test_dice_of_known_overlap():
    a, b = np.zeros((10, 10), bool), np.zeros((10, 10), bool)
    a[:, :4], b[:, 2:6] = True, True  # 40 and 40 pixels, 20 shared
    assert dice(a, b) == pytest.approx(0.5)
    assert dice(a, a) == pytest.approx(1.0)
    with pytest.raises(MedlearnInputError):
        dice(a, np.zeros((3, 3), bool))


def test_occlusion_fills_the_region_in_every_slice():
    volume = MedImage(np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4), modality="CT")
    region = np.zeros((4, 4), bool)
    region[:2, :2] = True
    out = occlude(volume, region)
    assert np.all(out.pixels[:, :2, :2] == np.median(volume.pixels)) and np.all(out.pixels[:, 2:, 2:] ==
                                                                                 volume.pixels[:, 2:, 2:])
    colour = MedImage(np.full((4, 4, 3), 200, np.uint8), modality="OP")
    assert occlude(colour, region).pixels.shape == (4, 4, 3)
    with pytest.raises(MedlearnInputError):
        occlude(volume, np.zeros((3, 3), bool))
    change = probability_change({"a": 0.8, "b": 0.2}, {"a": 0.3, "b": 0.7})
    assert change["change"].round(2).tolist() == [-0.5, 0.5]


def _segmentation_prediction() -> tuple[MedImage, Prediction]:
    image = MedImage(np.random.default_rng(0).normal(300, 50, (4, 16, 12)).astype(np.float32),
                     spacing=(2.0, 1.0, 0.5), modality="MR")
    mask = np.zeros((4, 16, 12), np.uint8)
    mask[1:3, 4:8, 3:6] = 1
    pred = Prediction(case="hippocampus", arch="unet", prediction="segmentation", class_index=1,
                      probabilities=None, mask=mask, explanation=mask.astype(np.float32), explain_method="gradcam",
                      latency_ms=12.345, timings={"forward": 3.21}, weights_note="note",
                      measurements={"hippocampal_volume_mm3": 24.0},
                      checkpoint="/srv/medlearn/home/checkpoints/hippocampus/unet/phantoms-1.safetensors")
    return image, pred


def test_export_contents(tmp_path):
    image, pred = _segmentation_prediction()
    data = report(get_case("hippocampus"), pred, "phantom 0")
    assert data["mask_voxels_per_label"] == {"anterior (head)": 24} and data["disclaimer"] == DISCLAIMER
    assert data["checkpoint"] == "phantoms-1.safetensors" and "/srv" not in report_json(data).decode()
    assert json.loads(report_json(data))["measurements"]["hippocampal_volume_mm3"] == 24.0
    csv = report_csv(data).decode()
    assert "measurements.hippocampal_volume_mm3,24.0" in csv and "timings.forward,3.21" in csv
    rgb = report_overlay(image, pred)  # 16 x 12 px at 1.0 x 0.5 mm: 16 x 6 mm, exported 512 px tall
    assert rgb.shape == (512, 192, 3) and rgb.dtype == np.uint8
    assert Image.open(io.BytesIO(png_bytes(rgb))).size == (192, 512)
    path = tmp_path / "mask.nii.gz"
    path.write_bytes(mask_nifti(pred.mask, image.spacing))
    nii = nib.load(path)
    assert int(np.asarray(nii.dataobj).sum()) == 24 and sorted(nii.header.get_zooms()) == [0.5, 1.0, 2.0]
    assert split_unit("volume_mm3[anterior (head)]") == ("volume [anterior (head)]", "mm³")
    assert split_unit("ef_percent") == ("ef", "%")


def test_timing_caption_names_a_first_model_load_and_a_batch_wait():
    from ui.predict.explain_view import timing_caption

    pred = types.SimpleNamespace(latency_ms=420.0, timings={"load": 380.2, "preprocess": 7.0, "queue": 0.2,
                                                            "forward": 20.0, "explain": 9.0, "postprocess": 3.0})
    text = timing_caption(pred)
    assert text.startswith(f"{icons.TIMER} Answered in 420 ms: model load (first use) 380, preprocess 7")
    assert "waiting for a batch" not in text and "explanation 9" in text
    pred.timings.update(load=0.01, queue=12.0)
    assert "model load" not in timing_caption(pred) and "waiting for a batch 12" in timing_caption(pred)


def test_export_keeps_the_scores_shown_and_no_server_folder():
    from ui.predict.explain_view import truth_scores
    from ui.predict.export import without_paths

    image, pred = _segmentation_prediction()
    pred.notes = ["read /srv/medlearn/uploads/scan.nii.gz, W1500/L-600, see https://example.org/a/b"]
    case = get_case("hippocampus")
    scores = truth_scores(case, pred, pred.mask, image.spacing)
    data = report(case, pred, "Your upload: /tmp/x/scan.nii.gz", scores=scores)
    assert data["scores"]["dice"] == 1.0 and data["scores"]["dice_per_class"]["anterior (head)"] == 1.0
    assert data["image"] == "Your upload: scan.nii.gz"
    assert data["notes"] == ["read scan.nii.gz, W1500/L-600, see https://example.org/a/b"]
    assert without_paths({"a": ["/x/y", 3]}) == {"a": ["y", 3]}


def test_a_quick_first_model_answers_and_queues_the_full_recipe_behind_it(monkeypatch, open_page, assert_clean):
    from ui.train import jobs
    monkeypatch.setenv("MEDLEARN_AUTOTRAIN", "1")
    fake = FakeManager()
    monkeypatch.setattr(jobs, "manager", lambda: fake)
    make_checkpoint("breast", quick=True)
    at = predict_page(open_page, "breast")
    assert_clean(at)
    assert "quick first model" in at.selectbox(key="predict.breast.model").options[0]
    arch = first_network("phantoms")  # make_checkpoint's default network, on phantoms
    assert fake.asked == {"time_budget_s": None} and fake.submitted == [("breast", arch, "phantoms")]
    assert fake.kwargs == {}  # the full recipe: no time budget
    assert any("quick first model" in c.value and "job 7" in c.value for c in at.caption)
    at.run()
    assert len(fake.submitted) == 1  # queued once, then followed


def test_without_autotrain_a_button_queues_the_full_recipe(monkeypatch, open_page, assert_clean):
    from ui.train import jobs
    fake = FakeManager()
    monkeypatch.setattr(jobs, "manager", lambda: fake)
    make_checkpoint("breast", quick=True)
    at = predict_page(open_page, "breast")
    assert fake.submitted == []
    at.button(key="predict.breast.full").click().run()
    assert_clean(at)
    assert fake.submitted == [("breast", first_network("phantoms"), "phantoms")]



def test_an_empty_heat_map_says_it_explains_nothing():
    import numpy as np

    from ui.predict.explain_view import heat_caption

    pred = types.SimpleNamespace(explain_method="gradcam", class_index=2, prediction="posterior",
                                 explanation=np.zeros((4, 4), np.float32), mask=None)
    names = ("background", "anterior", "posterior")
    assert "heat map for “posterior” is empty" in heat_caption(pred, names, "viridis", 0.45)
    pred.explanation = np.eye(4, dtype=np.float32)
    assert "regions that most raised" in heat_caption(pred, names, "viridis", 0.45)
    assert "whole picture" not in heat_caption(pred, names, "viridis", 0.45)  # a classifier: no mask
    pred.mask = np.ones((4, 4), np.uint8)  # the model marked anterior only: posterior's map reads everything
    assert "marked no “posterior” pixel" in heat_caption(pred, names, "viridis", 0.45)
    pred.mask[0, 0] = 2
    assert "whole picture" not in heat_caption(pred, names, "viridis", 0.45)


def test_a_model_trained_on_real_data_opens_on_a_sample_of_that_data(open_page, assert_clean):
    """A phantom would first show a real-data model out of its depth (a red familiarity alarm)."""
    from sqlalchemy import update

    from medlearn.data.sources import get_source
    from medlearn.train.store import RUNS, RunStore

    if not get_source("busi").is_available():
        pytest.skip("BUSI is not in the mirror here (MEDLEARN_MIRROR)")
    make_checkpoint("breast")
    store = RunStore()
    with store.db.begin() as con:  # the checkpoint's run, as if trained on BUSI
        con.execute(update(RUNS).values(source="busi"))
    at = predict_page(open_page, "breast")
    assert_clean(at)
    assert at.radio(key="predict.breast.input").value == "Dataset sample"
    assert at.selectbox(key="predict.breast.source").value == "busi"


def _stale_heart_checkpoint() -> str:
    """A heart U-Net whose banks an older MedLearn stored (3 class scores for the last view)."""
    from medlearn.ood import bank_tensors
    from medlearn.train.checkpoints import EXTRA_PREFIX, load_checkpoint, read_meta, save_weights, snapshot

    path = make_checkpoint("heart")
    model = load_checkpoint(path)[0]
    stats = {"k": 1, "n_bank": 8, "n_val": 40, "last": {"p99": 0.01}, "early": {"p99": 0.01}}
    old = {"last": np.eye(3, dtype=np.float16), "early": np.eye(3, dtype=np.float16)}
    extra = {EXTRA_PREFIX + name: t for name, t in bank_tensors(old).items()}
    save_weights({**snapshot(model.state_dict()), **extra}, {**read_meta(path), "familiarity": stats}, path)
    return path


def test_a_recalibration_that_cannot_write_says_so_and_keeps_the_page(open_page, assert_clean, monkeypatch):
    import medlearn.train.recipes as recipes

    def full_disk(path, device="cpu"):
        raise OSError(28, "Disk full: there was no room to save the model")

    path = _stale_heart_checkpoint()
    monkeypatch.setattr(recipes, "recalibrate_familiarity", full_disk)
    at = predict_page(open_page, "heart")
    at.button(key=f"familiarity.recalibrate.{path}").click().run()
    assert_clean(at)
    assert any("Could not recalibrate this model" in e.value and "Disk full" in e.value for e in at.error)
    assert any("No familiarity check for this model" in i.value for i in at.info)


def test_a_model_calibrated_on_another_layer_says_so_instead_of_a_verdict(open_page, assert_clean):
    """Banks stored by an older MedLearn (a U-Net's 3 class scores, where the view is now its
    decoder's features) give an info box that says to train again, not a ratio."""
    path = _stale_heart_checkpoint()
    at = predict_page(open_page, "heart")
    assert_clean(at)
    assert any("No familiarity check for this model" in i.value for i in at.info)
    assert not any("times further" in e.value for e in [*at.error, *at.warning])
    at.button(key=f"familiarity.recalibrate.{path}").click().run()  # on the phantoms its plan names
    assert_clean(at)
    assert not any("No familiarity check" in i.value for i in at.info)
    verdicts = [c.value for c in at.caption] + [e.value for e in [*at.error, *at.warning]]
    assert any("Like the images this model learnt from" in v or "times further" in v for v in verdicts)


def test_a_structure_the_experts_did_not_draw_has_no_true_number(open_page, assert_clean):
    """A Sunnybrook frame with only the cavity drawn: the myocardium's true area is "—" with a
    note, not 0, and the drawing challenge offers only the drawn structure."""
    from sqlalchemy import update

    from medlearn.data.sources import get_source
    from medlearn.train.store import RUNS, RunStore

    source = get_source("sunnybrook")
    if not source.is_available():
        pytest.skip("Sunnybrook is not in the mirror here (MEDLEARN_MIRROR)")
    items = source.load("heart", limit=24)  # as Predict lists them
    index = next(i for i, s in enumerate(items) if 2 not in s.meta["labelled"])
    make_checkpoint("heart")
    store = RunStore()
    with store.db.begin() as con:  # as if trained on Sunnybrook: Predict opens on its samples
        con.execute(update(RUNS).values(source="sunnybrook"))
    at = predict_page(open_page, "heart")
    at.number_input(key="predict.heart.sample").set_value(index).run()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "truth" in d.value.columns)
    truth = dict(zip(table["measurement"], table["truth"]))
    assert truth["myocardium area"] == "—" and truth["lv cavity area"] != "—", truth
    note = "Not drawn on this image by the experts: myocardium"
    assert any(note in c.value.replace("\\", "") for c in at.caption)  # plain() escapes its punctuation
    assert any("Not drawn by the experts on this image: myocardium" in c for c in texts(at).split("\n"))
    dice = {m.label: m.value for m in at.metric if m.label.startswith("Dice")}
    assert dice["Dice: myocardium"] == "not drawn" and dice["Dice: LV cavity"] != "not drawn", dice
    at.toggle(key="predict.heart.beat.on").set_value(True).run()
    assert_clean(at)
    assert at.selectbox(key="predict.heart.beat.label").options == ["LV cavity"]
