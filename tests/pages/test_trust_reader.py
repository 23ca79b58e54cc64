"""The Trust section's Reader study lesson (AppTest): a quiz call is stored for the study, the
student sees their own point, the instructor the class's points against the model's curve."""

from __future__ import annotations

from medlearn.trust.reader_study import Answer, ReaderStudy

from model_fixtures import make_checkpoint

LESSON = "trust.breast.reader_view"


def metrics(at) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def test_quiz_answers_feed_the_reader_study_and_the_instructor_sees_the_class(open_page, assert_clean):
    path = make_checkpoint("breast")
    at = open_page("breast")
    at.segmented_control(key="breast.section").set_value("Predict").run()
    at.toggle(key="quiz.breast.on").set_value(True).run()
    at.radio(key="quiz.breast.call.phantom:0:0.5").set_value("malignant")
    at.select_slider(key="quiz.breast.sure.phantom:0:0.5").set_value("80 %").run()
    at.button(key="quiz.breast.commit").click().run()
    assert_clean(at)
    me = at.session_state["quiz.session"]
    (mine,) = ReaderStudy().answers("breast")
    assert (mine.session, mine.image, mine.call, mine.truth, mine.confidence) == (me, "phantom:0:0.5", 1, 1, 0.8)
    assert mine.checkpoint == path and len(mine.probabilities) == 2 and abs(sum(mine.probabilities) - 1) < 1e-5

    at.segmented_control(key="breast.section").set_value("Trust").run()
    at.segmented_control(key="trust.breast.lesson").set_value("Reader study").run()
    assert_clean(at)
    assert metrics(at) == {"Readers": "1", "Answers": "1", "Your answers": "1"}
    assert "malignant" in " ".join(c.value for c in at.caption)  # the positive event, said
    assert any("answer at least one positive and one negative" in i.value for i in at.info)  # one positive only

    study = ReaderStudy()  # a class: this student's negative call, and two other readers
    study.record(Answer(me, "breast", "img-neg", 0, 0, None, (0.7, 0.3), path))
    for session, calls in (("other1", (1, 1)), ("other2", (0, 1))):
        for image, call, truth, p in (("img-pos", calls[0], 1, 0.9), ("img-neg", calls[1], 0, 0.3)):
            study.record(Answer(session, "breast", image, call, truth, None, (1 - p, p), path))
    at.run()
    assert_clean(at)
    assert "**You:** sensitivity 100%, specificity 100% on 2 answers (1 positive)." in [m.value for m in at.markdown]
    assert not [d for d in at.dataframe if "reader" in d.value.columns]  # a student sees only their own point
    at.toggle(key="instructor.on").set_value(True).run()
    assert_clean(at)
    assert metrics(at)["Readers"] == "3" and metrics(at)["Answers"] == "6"
    table = next(d.value for d in at.dataframe if "reader" in d.value.columns)
    assert len(table) == 3 and sorted(table["sensitivity"]) == [0.0, 1.0, 1.0]
    assert any("The model beats **1 of 3** readers" in m.value for m in at.markdown)  # other2 misses the positive
    spec = at.get("plotly_chart")[0].proto.spec
    assert "the model" in spec and "other readers" in spec and "you" in spec
    at.button(key=f"{LESSON}.reset").click().run()
    at.button(key=f"{LESSON}.reset_yes").click().run()
    assert_clean(at)
    assert ReaderStudy().answers("breast") == [] and metrics(at)["Answers"] == "0"
