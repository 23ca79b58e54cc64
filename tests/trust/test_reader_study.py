"""The reader study store: answers per session, reader points, the model's curve on the same images."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError
from medlearn.metrics import roc_points
from medlearn.trust.reader_study import (Answer, ReaderStudy, beaten, model_curve, model_tpr_at, positive_event,
                                         reader_points)


@pytest.fixture
def study(tmp_path):
    return ReaderStudy(tmp_path / "reader_study.sqlite")


def _answer(session, image, call, truth, p1=None, case="breast", checkpoint="a.safetensors", confidence=None):
    probs = None if p1 is None else (1 - p1, p1)
    return Answer(session, case, image, call, truth, confidence, probs, checkpoint)


def test_answers_are_stored_per_session_first_call_counts_and_reset_per_case(study):
    assert study.record(_answer("s1", "img1", 1, 1, 0.9, confidence=0.8))
    assert not study.record(_answer("s1", "img1", 0, 1, 0.9))  # a second call for the same image is ignored
    assert study.record(_answer("s2", "img1", 0, 1, 0.9))
    assert study.record(_answer("s1", "img9", 2, 0, case="retina"))
    rows = study.answers("breast")
    assert [(a.session, a.call, a.confidence) for a in rows] == [("s1", 1, 0.8), ("s2", 0, None)]
    assert rows[0].probabilities == pytest.approx((0.1, 0.9)) and rows[0].checkpoint == "a.safetensors"
    assert [a.image for a in study.answers("breast", session="s2")] == ["img1"]
    assert study.reset("breast") == 2
    assert study.answers("breast") == [] and len(study.answers("retina")) == 1  # other cases kept


def test_the_store_lives_in_the_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLEARN_HOME", str(tmp_path / "home"))
    ReaderStudy().record(_answer("s1", "img1", 1, 1))
    assert (tmp_path / "home" / "reader_study.sqlite").is_file()


@pytest.mark.parametrize("bad", [dict(session=""), dict(call=-1), dict(confidence=1.5)])
def test_bad_answers_are_typed_errors(study, bad):
    fields = dict(session="s1", case="breast", image="img", call=1, truth=0) | bad
    with pytest.raises(MedlearnInputError):
        study.record(Answer(**fields))


def test_each_reader_gets_sensitivity_and_specificity_only_with_both_kinds_answered():
    event = positive_event(get_case("breast"))
    answers = [_answer("s1", "a", 1, 1), _answer("s1", "b", 0, 1), _answer("s1", "c", 0, 0), _answer("s1", "d", 1, 0),
               _answer("s1", "e", 0, 0), _answer("s2", "a", 1, 1)]  # s2: positives only -> no point
    (point,) = reader_points(answers, event)
    assert (point.session, point.n, point.positives) == ("s1", 5, 2)
    assert point.sensitivity == pytest.approx(0.5) and point.specificity == pytest.approx(2 / 3)
    assert point.fpr == pytest.approx(1 / 3)


def test_model_curve_uses_each_image_once_and_matches_roc_points():
    event = positive_event(get_case("breast"))
    truth = [1, 1, 0, 0, 1, 0]
    p = [0.9, 0.4, 0.35, 0.1, 0.8, 0.6]
    answers = [_answer(s, f"i{k}", 0, t, q) for s in ("s1", "s2") for k, (t, q) in enumerate(zip(truth, p))]
    answers.append(_answer("s3", "i0", 1, 1, 0.2, checkpoint="other.safetensors"))  # another model answered
    curve = model_curve(answers, event, "a.safetensors")
    ref = roc_points(np.array(truth), np.stack([1 - np.array(p), p], 1))
    assert (curve.n_images, curve.positives) == (6, 3)
    assert curve.fpr == ref["fpr"] and curve.tpr == ref["tpr"]
    assert curve.auc == pytest.approx(8 / 9)
    assert model_curve(answers[:1], event) is None  # one kind of image only: no curve


def test_the_model_beats_a_reader_below_its_curve():
    event = positive_event(get_case("breast"))
    answers = [_answer("s1", f"i{k}", call, t, q) for k, (call, t, q) in
               enumerate([(1, 1, 0.9), (0, 1, 0.8), (1, 0, 0.3), (0, 0, 0.1)])]  # the model ranks perfectly
    curve = model_curve(answers, event)
    (point,) = reader_points(answers, event)
    assert model_tpr_at(curve, point.fpr) == 1.0 and point.sensitivity == 0.5
    assert beaten([point], curve) == 1


def test_retina_positive_is_referable_disease_grade_two_or_worse():
    retina = get_case("retina")
    event = positive_event(retina)
    assert "referable" in event.text and [event.of(g) for g in range(5)] == [False, False, True, True, True]
    assert event.probability([0.1, 0.2, 0.3, 0.25, 0.15]) == pytest.approx(0.7)
    answers = [_answer("s1", "a", 1, 3, case="retina"), _answer("s1", "b", 0, 1, case="retina")]
    (point,) = reader_points(answers, event)  # grade 1 for a grade-3 eye: a missed referral
    assert point.sensitivity == 0.0 and point.specificity == 1.0
    assert positive_event(get_case("lung")).text == "malignant"
    with pytest.raises(MedlearnInputError, match="yes/no"):
        positive_event(get_case("heart"))
