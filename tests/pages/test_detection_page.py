"""The lung page's Detection study (AppTest): Predict shows boxes with scores, the top box's
Grad-CAM and the found/missed tally; the Train section's FROC chart from stored epochs."""

from __future__ import annotations

from medlearn.froc import FP_RATES, rate_key
from ui.train.froc_view import froc_figure, froc_points
from ui.train.race_chart import Series

from model_fixtures import make_checkpoint


def _detection(open_page, section: str):
    at = open_page("lung")
    at.segmented_control(key="lung.study").set_value("lung_detection").run()
    at.segmented_control(key="lung_detection.section").set_value(section).run()
    return at


def test_predict_draws_boxes_explains_the_top_one_and_tallies_them(open_page, assert_clean):
    make_checkpoint("lung_detection")
    at = _detection(open_page, "Predict")
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert any(m.value.startswith("### Model:") and "scoring 0.50 or more" in m.value for m in at.markdown)
    slider = at.slider(key="predict.lung_detection.view.threshold")
    assert slider.value == 0.5
    captions = " ".join(c.value for c in at.caption)
    assert "top box's score" in captions or "No explanation" in captions
    assert "For teaching, not for clinical use." in " ".join(m.value for m in at.markdown)
    assert [m.label for m in at.metric] == ["Nodules found", "False positives"]  # a phantom: the truth is known
    slider.set_value(0.05).run()
    assert_clean(at)
    assert "scoring 0.05 or more" in " ".join(c.value for c in at.caption)
    assert "quiz.lung_detection.on" not in [t.key for t in at.toggle]  # no quiz: the answer is boxes, not a class


def test_froc_chart_from_the_last_scored_epoch():
    row = {"epoch": 2, "cpm": 0.5, **{rate_key(r): min(1.0, 0.2 + 0.1 * k) for k, r in enumerate(FP_RATES)}}
    series = [Series("faster_rcnn · run 1", "rgb(0, 114, 178)", [], [{"epoch": 1, "cpm": float("nan")}, row]),
              Series("ssdlite · run 2", "rgb(213, 94, 0)", [], [{"epoch": 1}])]  # not scored yet: no line
    assert froc_points(series[1].epochs) is None
    sens, cpm = froc_points(series[0].epochs)
    assert sens[0] == 0.2 and cpm == 0.5
    fig = froc_figure(series)
    assert len(fig.data) == 1 and list(fig.data[0].x) == list(FP_RATES)
    assert "CPM 0.500" in fig.data[0].name and fig.layout.xaxis.type == "log"
    assert froc_figure(series[1:]) is None


def test_every_trust_lesson_offered_to_a_detector_opens(open_page, assert_clean):
    """The Trust section on the Detection study: the lessons that fit a box detector open
    without an error; Evaluate scores it by FROC."""
    from medlearn.cases import get_case
    from ui.trust.section import lessons_for

    make_checkpoint("lung_detection")
    at = _detection(open_page, "Trust")
    assert_clean(at)
    lesson = at.segmented_control(key="trust.lung_detection.lesson")
    assert lesson.options == [x.title for x in lessons_for(get_case("lung_detection"))]
    for title in lesson.options:
        at.segmented_control(key="trust.lung_detection.lesson").set_value(title).run(timeout=120)
        assert_clean(at)
        assert not at.exception, (title, [e.value for e in at.exception])
        assert not at.error, (title, [e.value for e in at.error])
    assert "Robustness" not in lesson.options and "Shortcut learning" not in lesson.options
    at.segmented_control(key="trust.lung_detection.lesson").set_value("Evaluate").run(timeout=120)
    assert [m.label for m in at.metric][0].startswith("CPM")
