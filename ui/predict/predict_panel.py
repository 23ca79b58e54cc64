"""The Predict section of a case page, and the same display for "Try your own image".

Models come from the run store (finished runs with a checkpoint); the shared
:class:`~medlearn.serving.BatchingPredictor` (over the shared ``Predictor``) and the job
manager (``ui.train.jobs``, shared with the Train section) are ``st.cache_resource`` objects,
one per server, never changed per session. A result is kept in session state
under ``predict.<case>.*`` keyed by image, checkpoint and method, so moving a slider
does not call the model again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.sources.base import undrawn_classes
from medlearn.errors import MedlearnError
from medlearn.predict import Prediction, TrainedModel
from ui.shared import icons
from ui.shared.data_choice import default_recipe
from ui.predict import quiz
from ui.predict.beat_model import render_beat_model
from ui.predict.cine_predict import render_cine_section
from ui.predict.explain_view import method_picker, render_answer, render_overlays, render_scores
from ui.predict.export import render_export
from ui.predict.first_model import render_follow_up, render_untrained
from ui.predict.instances import render_instances
from ui.shared.text import plain
from ui.predict.upload import PredictInput, pick_input
from ui.shared.viewers import mask_names


@st.cache_resource(show_spinner=False)
def predictor():
    """The server's one predictor: the shared model cache behind a request batcher, so a
    classroom asking at once gets one forward + CAM per batch (``medlearn.serving``)."""
    from medlearn.predict import default_predictor
    from medlearn.serving import BatchingPredictor

    return BatchingPredictor(default_predictor())


def trained_models(case: CaseStudy) -> list[TrainedModel]:
    """The case's trained networks, best first (:func:`medlearn.predict.trained_models`)."""
    from medlearn.predict import trained_models as ranked

    return ranked(case)


def model_picker(case: CaseStudy, key: str) -> TrainedModel | None:
    """Select box of trained architectures, and which of the case's defaults are not trained yet."""
    models = trained_models(case)
    untrained = [a for a in default_recipe(case).architectures if a not in {m.arch for m in models}]
    if not models:
        return None
    index = st.selectbox("Model", range(len(models)), format_func=lambda i: models[i].label, key=f"{key}.model",
                         help="Trained runs from the run store: the best run of each architecture, the best "
                              "of all first (by validation score; it answers by default).")
    if untrained:
        st.caption(f"Not trained yet: {', '.join(untrained)} (train them in the Train section"
                   + ("; the classical baseline is scored there, Predict serves networks" if "classic" in untrained
                      else "") + ").")
    return models[index]


def predict_cached(case: CaseStudy, item: PredictInput, model: TrainedModel, method: str,
                   key: str) -> Prediction | None:
    """The prediction for this image, checkpoint and method; computed once, then read from session state."""
    path = Path(model.checkpoint)
    signature = (item.id, str(path), path.stat().st_mtime_ns if path.exists() else 0, method)
    kept = st.session_state.get(f"{key}.result")
    if kept is not None and kept[0] == signature:
        return kept[1]
    try:
        with st.spinner("Predicting…"):
            pred = predictor().predict(case.key, item.image, explain=method, checkpoint=model.checkpoint)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return None
    st.session_state[f"{key}.result"] = (signature, pred)
    return pred


def render_predict_section(case: CaseStudy) -> None:
    """Pick a model and an image, then see the answer, its explanation, and try to beat it."""
    key = f"predict.{case.key}"
    st.subheader(f"{icons.PREDICT} Predict")
    model = model_picker(case, key)
    if model is None:
        render_untrained(case, key)
        return
    render_follow_up(case, model, key)
    item = pick_input(case, key, model.source)
    if item is None:
        return
    quiz_on = not case.task.is_segmentation and st.toggle(
        "Quiz mode: make your call before the model's answer and the truth are shown", key=f"quiz.{case.key}.on")
    render_prediction_for(case, item, model, key, quiz_on=quiz_on)


def render_prediction_for(case: CaseStudy, item: PredictInput, model: TrainedModel | None, key: str,
                          quiz_on: bool = False) -> None:
    """Everything below the pickers: method, answer, overlays, scores, the challenge and export."""
    if model is None:
        model = model_picker(case, key)
        if model is None:
            render_untrained(case, key)
            return
    render_cine_section(case, item, model, key, predictor())  # a multi-phase cardiac cine upload only
    method = method_picker(case, item.image, key)
    pred = predict_cached(case, item, model, method, key)
    if pred is None:
        return
    if quiz_on and not quiz.render_quiz(case, item, pred, f"quiz.{case.key}"):
        return
    if case.task.is_detection:  # boxes with scores, the top box's Grad-CAM, found and missed nodules
        from ui.predict.detection_view import render_detection

        render_detection(case, item, pred, f"{key}.view")
    else:
        render_answer(case, item, pred)
        undrawn = undrawn_classes(item, case.task.num_classes)
        render_overlays(case, item.image, pred, item.mask, f"{key}.view",
                        mask_names(case, phantom=item.id.startswith("phantom:")), undrawn)
        render_scores(case, pred, item.mask, item.image.spacing, undrawn)
        render_instances(case, item.image, item.id, pred, model, f"{key}.instances", item.mask)  # instance models only
    # A toggle, not an expander: an expander's body (a drawing canvas, its background
    # encoded as PNG) is built on every run even when folded, about a fifth of this run.
    if st.toggle(f"{icons.PAINT} Can you beat the model?", key=f"{key}.beat.on"):
        render_beat_model(case, item, pred, model.checkpoint, f"{key}.beat", predictor())
    render_export(case, item, pred, f"{key}.export")
