"""Shortcut-learning lesson: one click plants a cue on one class, trains, and tests without it.

The experiment (``medlearn.trust.shortcut``) runs in a background thread; a fragment polls
its progress every second, so the page stays usable. The result: three accuracies as bars,
example images with their Grad-CAM, and what happened in words.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.predict import TrainedModel
from medlearn.trust.shortcut import CUES, NOT_FOR_SEGMENTATION, SETS, ShortcutConfig, ShortcutResult, ShortcutRun
from ui.shared import icons, projector
from ui.train.race_chart import PALETTE
from ui.shared.text import plain

HISTORY = ("Real datasets had such cues. Dermatologists put a ruler beside the lesions they worried about, so a "
           "melanoma classifier learnt rulers (Winkler et al., JAMA Dermatology 2019). Chest X-rays of the sickest "
           "patients were taken with portable machines and carry a \"PORTABLE\" text marker; networks learnt the "
           "marker and the hospital's own tags (Zech et al., PLoS Medicine 2018). Test sets from the same hospital "
           "have the same cues, so the scores looked excellent.")


def accuracy_figure(result: ShortcutResult) -> go.Figure:
    """Bars of the three test sets' accuracy with 95 % bootstrap intervals."""
    acc = [result.accuracy[s] for s in SETS]
    low = [result.accuracy[s] - result.interval[s][0] for s in SETS]
    high = [result.interval[s][1] - result.accuracy[s] for s in SETS]
    fig = go.Figure(go.Bar(x=list(SETS), y=acc, marker_color=[PALETTE[2], PALETTE[3], PALETTE[1]],
                           error_y=dict(type="data", array=high, arrayminus=low), text=[f"{a:.0%}" for a in acc],
                           textposition="inside", insidetextanchor="middle"))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=20, b=40),
                      yaxis=dict(title="accuracy (argmax)", range=[0, 1.05], tickformat=".0%"))
    return projector.style_chart(fig)


def explanation(result: ShortcutResult) -> str:
    """What happened, in words, from the numbers."""
    a = result.accuracy
    cue, k = CUES[result.config.cue], result.cue_class_name
    ratio = result.cue_energy / max(result.cue_area, 1e-9)
    return (f"Every **{plain(k)}** training image carried {plain(cue)}, and no other did. The network scored "
            f"**{a[SETS[0]]:.0%}** on new images with the cue where training put it, but **{a[SETS[1]]:.0%}** on the "
            f"same images without it, and **{a[SETS[2]]:.0%}** with the cue moved to the other classes: it called "
            f"{result.called_cue_class[SETS[2]]:.0%} of those images {plain(k)}. Its Grad-CAM put "
            f"{result.cue_energy:.0%} of its energy on the cue, which covers {result.cue_area:.1%} of the image "
            f"({ratio:.1f} times what a map spread evenly would). A high score on a test set that shares the "
            "training set's quirks proves little: test where the quirk is absent, and look at where the model looks.")


def _results(result: ShortcutResult, key: str) -> None:
    left, right = st.columns([3, 2])
    left.plotly_chart(accuracy_figure(result), key=f"{key}.bars")
    right.metric("Grad-CAM energy on the cue", f"{result.cue_energy:.0%}",
                 f"{result.cue_energy / max(result.cue_area, 1e-9):.1f}x an even map", delta_color="off",
                 help=f"Mean over the {result.n_cam} test images that carry the cue; the cue covers "
                      f"{result.cue_area:.1%} of each image.")
    right.caption(f"{result.arch}, {result.config.epochs} epochs on {result.config.n_train} phantoms at "
                  f"{result.config.input_size} px; tested on {result.n_test} new phantoms, 95 % bootstrap intervals "
                  f"over images; {result.seconds:.0f} s.")
    st.markdown(explanation(result))
    cols = st.columns(len(result.examples))
    for col, ex in zip(cols, result.examples):
        col.image(ex.overlay, caption=plain(f"{ex.title}. Answer: {ex.answer} ({ex.probability:.0%}); "
                                            f"truth: {ex.truth}. Grad-CAM of the answer."), width="stretch")
    st.caption(HISTORY)


@st.fragment(run_every=1.0)
def _watch(key: str) -> None:
    run: ShortcutRun | None = st.session_state.get(f"{key}.run")
    if run is None:
        return
    if not run.done:
        st.progress(min(run.progress, 1.0), plain(run.stage))
        return
    st.session_state.pop(f"{key}.run")
    if run.error:
        st.session_state[f"{key}.error"] = run.error
    else:
        st.session_state[f"{key}.result"] = run.result
    st.rerun()


def render(case: CaseStudy, model: TrainedModel, key: str) -> None:
    """Choose the cue and its class, run the experiment, read what happened."""
    st.markdown("**Shortcut learning.** A network learns whatever separates the classes most easily. If a "
                "marker, a ruler or a tag comes with one class more often, it may learn that instead of the disease.")
    if case.task.is_segmentation:
        st.info(NOT_FOR_SEGMENTATION, icon=icons.INFO)
        return
    names = case.task.class_names
    left, right = st.columns(2)
    cue = left.selectbox("Cue", list(CUES), format_func=lambda c: CUES[c], key=f"{key}.cue")
    k = right.selectbox("Stamped on every training image of", range(len(names)), index=len(names) - 1,
                        format_func=lambda i: names[i], key=f"{key}.class")
    config = ShortcutConfig(case.key, cue=cue, cue_class=int(k))
    st.caption(f"One click trains a small {case.recipe.first_network} (the case's phantom recipe, not the model "
               f"above) for {config.epochs} epochs on {config.n_train} phantoms with the cue, then tests it on "
               f"{config.n_test} new ones: a minute or a few, depending on the machine. Nothing is saved as a model "
               "of the case.")
    busy = st.session_state.get(f"{key}.run") is not None
    if st.button("Run the experiment", icon=icons.NEXT, key=f"{key}.start", disabled=busy, type="primary"):
        st.session_state.pop(f"{key}.error", None)
        st.session_state[f"{key}.run"] = ShortcutRun(config)
    _watch(key)
    if st.session_state.get(f"{key}.error"):
        st.error(plain(st.session_state[f"{key}.error"]), icon=icons.ERROR)
    result: ShortcutResult | None = st.session_state.get(f"{key}.result")
    if result is not None:
        _results(result, key)
