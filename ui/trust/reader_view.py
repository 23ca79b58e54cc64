"""Trust lesson "Reader study": the students' own calls (from Predict's quiz mode) as points
against the model's ROC curve on the same images, as radiology reader studies report them.

A student sees their own point; in instructor mode the whole class's points, the number of
readers and answers, who the model beats, and a reset for the next class. The answers and
the figures come from :mod:`medlearn.trust.reader_study`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.predict import TrainedModel
from medlearn.trust.reader_study import (ModelCurve, ReaderPoint, ReaderStudy, beaten, model_curve, model_tpr_at,
                                         positive_event, reader_points)
from ui.shared import icons, instructor
from ui.train import jobs
from ui.shared.projector import style_chart
from ui.predict.quiz import session_id
from ui.train.race_chart import PALETTE
from ui.shared.text import plain

EXPLANATION = ("Each reader makes yes/no calls, so each reader is one point: sensitivity (positives found) "
               "against 1 - specificity (negatives wrongly called positive). The model gives a probability, so "
               "it draws a whole curve: a reader below the curve is beaten by the model at some threshold on "
               "both counts.")


def render(case: CaseStudy, model: TrainedModel, key: str) -> None:
    """The reader study of ``case``: the student's point, or the class's in instructor mode."""
    st.markdown(f"#### {icons.DOCTOR} Reader study: your calls against the model's curve")
    try:
        event = positive_event(case)
        answers = ReaderStudy().answers(case.key)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    st.markdown(EXPLANATION)
    st.caption(f"Positive here means: {event.text}. Answers come from Predict's quiz mode (turn it on there, "
               "call each image before the model's answer shows); each image counts once per reader.")
    teacher = instructor.is_on()
    me = session_id()
    shown = answers if teacher else [a for a in answers if a.session == me]
    points = reader_points(shown, event)
    curve = model_curve(answers, event, model.checkpoint)
    readers = len({a.session for a in answers})
    a, b, c = st.columns(3)
    a.metric("Readers", readers)
    b.metric("Answers", len(answers))
    c.metric("Your answers", sum(x.session == me for x in answers))
    _model_note(case, answers, model, curve)
    if curve is None and not points:
        st.info("No reader point and no model curve yet: answer at least one positive and one negative image in "
                "Predict's quiz mode.", icon=icons.INFO)
    else:
        chart, words = st.columns([3, 2])
        chart.plotly_chart(reader_figure(curve, points, me, teacher), key=f"{key}.chart",
                           config={"displaylogo": False})
        with words:
            _verdict(points, curve, me, teacher)
        if teacher and curve is not None and points:
            _class_table(points, curve, me)
    if teacher:
        _reset(case, key, len(answers))


def _model_note(case: CaseStudy, answers, model: TrainedModel, curve: ModelCurve | None) -> None:
    others = [a.checkpoint for a in answers if a.checkpoint and a.checkpoint != model.checkpoint]
    if curve is not None:
        st.caption(f"The model's curve: {model.arch} (run {model.run_id}) on the {curve.n_images} quiz images it "
                   f"answered ({curve.positives} positive), AUC {curve.auc:.2f}.")
    if others:
        runs = sorted({r.id for r in jobs.manager().store.list_runs(case=case.key) if r.checkpoint in others})
        which = f" (run {', '.join(map(str, runs))})" if runs else ""
        st.caption(f"{len(others)} answer(s) were given while another model{which} answered in Predict; the curve "
                   "above is this model's on the images it answered (pick the other model above to see its curve).")


def reader_figure(curve: ModelCurve | None, points: list[ReaderPoint], me: str, teacher: bool) -> go.Figure:
    """The model's ROC curve, the chance diagonal, and one marker per reader (yours a star)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=dict(color="grey", dash="dot")))
    if curve is not None:
        fig.add_trace(go.Scatter(x=curve.fpr, y=curve.tpr, mode="lines", name="the model",
                                 line=dict(color=PALETTE[0], width=3)))
    others = [p for p in points if p.session != me]
    if others:
        fig.add_trace(go.Scatter(x=[p.fpr for p in others], y=[p.sensitivity for p in others], mode="markers",
                                 name="other readers", marker=dict(color=PALETTE[1], size=12, symbol="circle"),
                                 text=[f"{p.n} answers" for p in others],
                                 hovertemplate="sensitivity %{y:.2f}, 1 - specificity %{x:.2f} (%{text})"
                                               "<extra></extra>"))
    mine = [p for p in points if p.session == me]
    if mine:
        fig.add_trace(go.Scatter(x=[mine[0].fpr], y=[mine[0].sensitivity], mode="markers", name="you",
                                 marker=dict(color=PALETTE[2], size=18, symbol="star", line=dict(width=1,
                                                                                                 color="black"))))
    fig.update_xaxes(title_text="1 - specificity (negatives called positive)", range=[-0.02, 1.02],
                     constrain="domain")
    fig.update_yaxes(title_text="sensitivity (positives found)", range=[-0.02, 1.02], scaleanchor="x",
                     constrain="domain")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=1.12))
    return style_chart(fig, large=teacher)


def _verdict(points: list[ReaderPoint], curve: ModelCurve | None, me: str, teacher: bool) -> None:
    mine = next((p for p in points if p.session == me), None)
    if mine is None:
        st.caption("You have no point yet: answer at least one positive and one negative image in the quiz.")
    else:
        st.markdown(f"**You:** sensitivity {mine.sensitivity:.0%}, specificity {mine.specificity:.0%} "
                    f"on {mine.n} answers ({mine.positives} positive).")
        if curve is not None:
            model = model_tpr_at(curve, mine.fpr)
            st.markdown(f"At your false-positive rate the model finds {model:.0%} of the positives "
                        f"({'more than' if model > mine.sensitivity else 'not more than'} you).")
    if teacher and curve is not None and points:
        st.markdown(f"The model beats **{beaten(points, curve)} of {len(points)}** readers with a point.")


def _class_table(points: list[ReaderPoint], curve: ModelCurve, me: str) -> None:
    """One row per reader (anonymous): answers, sensitivity, specificity, the model's sensitivity there."""
    rows = [{"reader": f"reader {i + 1}" + (" (you)" if p.session == me else ""), "answers": p.n,
             "positives": p.positives, "sensitivity": round(p.sensitivity, 3), "specificity": round(p.specificity, 3),
             "model's sensitivity at that false-positive rate": round(model_tpr_at(curve, p.fpr), 3)}
            for i, p in enumerate(points)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _reset(case: CaseStudy, key: str, n: int) -> None:
    """Forget the case's answers (the next class starts afresh), after a confirmation."""
    confirm = f"{key}.confirm"
    if not st.session_state.get(confirm):
        if st.button("Reset the class's answers", key=f"{key}.reset", icon=icons.RESET, disabled=not n):
            st.session_state[confirm] = True
            st.rerun()
        return
    st.warning(f"Delete all {n} answers of {case.title}? Every reader starts afresh.", icon=icons.WARNING)
    yes, no = st.columns(2)
    if yes.button("Delete the answers", key=f"{key}.reset_yes", type="primary"):
        removed = ReaderStudy().reset(case.key)
        st.session_state.pop(confirm, None)
        st.toast(f"Removed {removed} answer(s).")
        st.rerun()
    if no.button("Cancel", key=f"{key}.reset_no"):
        st.session_state.pop(confirm, None)
        st.rerun()
