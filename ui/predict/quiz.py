"""Quiz mode: the student commits to a call before the model's answer and the truth appear.

Scoring is pure (:func:`record_answer`, :func:`tally`) and tested directly. The answers
of a session live in ``st.session_state["quiz.<case>.answers"]`` as
``{image id: (student, model, truth)}``; the first committed call for an image counts.
Each committed call (with the student's confidence, if given, and the model's
probabilities) is also stored for the class's reader study
(:mod:`medlearn.trust.reader_study`) under a random session id (``quiz.session``).
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.predict import Prediction
from ui.shared import icons
from ui.shared.text import plain

SESSION = "quiz.session"
CONFIDENCE = ("not said", "50 %", "60 %", "70 %", "80 %", "90 %", "100 %")


@dataclass(frozen=True)
class QuizScore:
    """Rounds played and how many each side got right."""

    rounds: int
    student: int
    model: int

    @property
    def verdict(self) -> str:
        if not self.rounds:
            return "No rounds yet."
        if self.student == self.model:
            return "A draw so far."
        return "You are ahead of the model." if self.student > self.model else "The model is ahead of you."


def record_answer(answers: dict, item_id: str, student: str, model: str, truth: str) -> dict:
    """A copy of ``answers`` with this round added; an image already answered keeps its first call."""
    if item_id in answers:
        return dict(answers)
    return {**answers, item_id: (student, model, truth)}


def tally(answers: dict) -> QuizScore:
    """Score of a session: rounds, correct calls of the student and of the model."""
    rounds = list(answers.values())
    return QuizScore(len(rounds), sum(s == t for s, _, t in rounds), sum(m == t for _, m, t in rounds))


def render_quiz(case: CaseStudy, item, pred: Prediction, key: str) -> bool:
    """Ask for the student's call; True once the answer may be revealed (or the image has no truth)."""
    names = list(case.task.class_names)
    if item.label is None:
        st.info("Quiz mode needs an image whose answer is known: pick a phantom or a labelled dataset sample.")
        return True
    answers = st.session_state.get(f"{key}.answers", {})
    if item.id not in answers:
        st.markdown(f"#### {icons.DOCTOR} Your call first")
        from ui.shared.viewers import show_image

        show_image(item.image, None, presets=case.window_presets, key=f"{key}.view",
                   caption="The image to judge (no truth, no model answer yet)")
        call = st.radio("What do you see?", names, index=None, key=f"{key}.call.{item.id}", horizontal=True)
        sure = st.select_slider("How sure are you? (optional)", CONFIDENCE, value=CONFIDENCE[0],
                                key=f"{key}.sure.{item.id}")
        if not st.button("Commit my answer", type="primary", key=f"{key}.commit", disabled=call is None):
            _scoreboard(tally(answers))
            st.caption("The model's answer and the truth stay hidden until you commit.")
            return False
        answers = record_answer(answers, item.id, call, pred.prediction, names[item.label])
        st.session_state[f"{key}.answers"] = answers
        _to_study(case, item, pred, names.index(call), None if sure == CONFIDENCE[0] else int(sure[:-2]) / 100)
    student, model, truth = answers[item.id]
    mark = {True: icons.RIGHT, False: icons.WRONG}
    st.markdown(f"You said **{student}** {mark[student == truth]} · the model said **{model}** "
                f"{mark[model == truth]} · the truth is **{truth}**.")
    _scoreboard(tally(answers))
    st.button("Next image", key=f"{key}.next", on_click=_next_seed, args=(case.key,),
              help="Draws the next phantom (seed + 1).")
    return True


def session_id() -> str:
    """This browser session's anonymous reader id (random, kept in session state)."""
    return st.session_state.setdefault(SESSION, uuid.uuid4().hex[:12])


def _to_study(case: CaseStudy, item, pred: Prediction, call: int, confidence: float | None) -> None:
    """Store the committed call for the class's reader study; a store error is said, never fatal."""
    from medlearn.errors import MedlearnError
    from medlearn.trust.reader_study import Answer, ReaderStudy

    probs = pred.probabilities
    names = list(case.task.class_names)
    answer = Answer(session_id(), case.key, str(item.id), call, int(item.label), confidence,
                    tuple(float(probs[n]) for n in names) if probs and set(names) <= set(probs) else None,
                    str(pred.checkpoint or ""))
    try:
        ReaderStudy().record(answer)
    except (MedlearnError, OSError, sqlite3.Error) as exc:
        st.warning(plain(f"Your answer counts here but could not be stored for the class's reader study: {exc}"),
                   icon=icons.WARNING)


def _scoreboard(score: QuizScore) -> None:
    a, b, c = st.columns(3)
    a.metric("Rounds", score.rounds)
    b.metric("You", f"{score.student} / {score.rounds}")
    c.metric("Model", f"{score.model} / {score.rounds}")
    st.caption(score.verdict)


def _next_seed(case_key: str) -> None:
    seed_key = f"predict.{case_key}.seed"
    st.session_state[seed_key] = int(st.session_state.get(seed_key, 0)) + 1
    st.session_state[f"predict.{case_key}.input"] = "Phantom"
