"""First visit after install: a case with no trained model trains its default one in the background.

The Predict section calls :func:`render_untrained` when the run store has no finished
network for the case. A quick first model then starts on its own: the default recipe on
the case's best data here, trained for the epochs that fit ``FIRST_VISIT_BUDGET_S``
(``medlearn.train.callbacks.TimeBudget``), so it is ready within about a minute. Once per
server: every session that arrives meanwhile follows the same job
(``JobManager.find_live``), with a progress bar and the live loss and validation curves;
the section reloads itself once the model is ready. Then :func:`render_follow_up` queues
the full recipe behind it, which answers once it is trained if it scores better
(``medlearn.predict.trained_models`` ranks by validation score). ``prepare`` before class
trains the full recipes, so no page waits. The rest of the app stays usable: training
runs in a worker process.
Below, the case's open datasets that are not here yet are offered for download
(:mod:`ui.predict.dataset_download`): the next default model trains on them.
``MEDLEARN_AUTOTRAIN=0`` turns the automatic start off (a button offers it instead).
"""

from __future__ import annotations

import os

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from ui.shared import icons
from ui.shared.data_choice import best_source
from ui.train import jobs
from ui.predict.dataset_download import render_download_offer
from ui.train.race_chart import PALETTE, Series, race_figure
from ui.shared.text import plain


def autotrain() -> bool:
    """Start the default recipe without asking (``MEDLEARN_AUTOTRAIN``, default on)."""
    return os.environ.get("MEDLEARN_AUTOTRAIN", "1").strip().lower() not in ("0", "false", "no", "off")


def render_untrained(case: CaseStudy, key: str) -> None:
    """Say plainly that nothing is trained yet; train the default model in the background."""
    from medlearn.data.sources.choice import describe_source

    from medlearn.train.recipes import FIRST_VISIT_BUDGET_S

    source = best_source(case)
    arch = case.recipe_for(source).first_network
    st.info(f"No trained model for {case.title} yet, so there is nothing to predict with. A quick first "
            f"{arch} trains on {describe_source(source)} in the background for about "
            f"{FIRST_VISIT_BUDGET_S:.0f} seconds; predictions appear here when it is ready, and the full recipe "
            "then trains behind it and takes over if it scores better. The rest of the app stays usable meanwhile.",
            icon=icons.INFO)
    job_key = f"{key}.job"
    manager = jobs.manager()
    quick = {"time_budget_s": FIRST_VISIT_BUDGET_S}
    if st.session_state.get(job_key) is None:
        st.session_state[job_key] = manager.find_live(case.key, arch, source, **quick)  # another session's job
    if st.session_state.get(job_key) is None:
        started = st.session_state.get(f"{key}.auto_started")  # once per session: no loop after a failure
        if (autotrain() and not started) or st.button(f"Train the default model now ({arch})", type="primary",
                                                      key=f"{key}.train"):
            st.session_state[f"{key}.auto_started"] = True
            try:
                st.session_state[job_key] = manager.submit(case.key, arch, source, **quick)
            except MedlearnError as exc:
                st.error(plain(str(exc)), icon=icons.ERROR)
    if st.session_state.get(job_key) is not None:
        _job_progress(case, job_key)
    render_download_offer(case, f"{key}.download")


@st.fragment(run_every=1.0)
def _job_progress(case: CaseStudy, job_key: str) -> None:
    """The job's progress bar and live curves, refreshed every second; the page reruns once the model is ready."""
    job_id = st.session_state.get(job_key)
    if job_id is None:
        return
    try:
        job = jobs.view(job_id, case)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        st.session_state.pop(job_key, None)
        return
    if job.status == "done":
        st.session_state.pop(job_key, None)
        st.success("The model is trained: predictions are ready.")
        st.rerun()
    elif job.live:
        text = (jobs.wait_words(job_id) if job.status == "queued" else
                f"Training job {job_id} ({job.arch}): epoch {min(int(job.position) + 1, job.epochs)} of {job.epochs}, "
                f"{job.progress:.0%}. You can use the rest of the app meanwhile.")
        st.progress(job.progress, text=text)
        if job.batches or job.epoch_rows:
            metric = case.metrics[0] if case.metrics else "val_loss"
            series = [Series(f"{job.arch} · run {job_id}", PALETTE[0], job.batches, job.epoch_rows)]
            st.plotly_chart(race_figure(series, metric, height=300), key=f"{job_key}.chart")
    else:
        st.session_state.pop(job_key, None)
        st.error(f"Training {job.status}: {job.error or 'no reason given'}", icon=icons.ERROR)


def render_follow_up(case: CaseStudy, model, key: str) -> None:
    """Under a quick first model's answers: the full recipe of its network, queued once per
    server (automatically, or by a button with ``MEDLEARN_AUTOTRAIN=0``) and followed here."""
    if not model.quick:
        return
    from medlearn.train.recipes import recipe_ready

    manager = jobs.manager()
    job = manager.find_live(case.key, model.arch, model.source, time_budget_s=None)
    if job is None and not recipe_ready(case.key, model.arch, model.source):
        started = st.session_state.get(f"{key}.full_started")  # once per session: no loop after a failure
        if not autotrain():
            st.caption(f"This is a quick first model, trained for about a minute; the full recipe of {model.arch} "
                       "trains for longer in the background and answers here once it scores better.")
        if (autotrain() and not started) or st.button(f"Train the full recipe of {model.arch}", key=f"{key}.full"):
            st.session_state[f"{key}.full_started"] = True
            try:
                job = manager.submit(case.key, model.arch, model.source)
            except MedlearnError as exc:
                st.error(plain(str(exc)), icon=icons.ERROR)
    if job is None:
        return
    view = jobs.view(job, case)
    where = (jobs.wait_words(job) if view.status == "queued" else
             f"epoch {min(int(view.position) + 1, view.epochs)} of {view.epochs}, {view.progress:.0%}")
    st.caption(f"{icons.QUEUE} This is a quick first model, trained for about a minute. The full recipe of "
               f"{model.arch} is training in the background (job {job}: {where}); it answers here once it is "
               "trained, if it scores better.")

