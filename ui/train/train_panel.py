"""The Train section: a live architecture race, its results, and earlier runs to compare.

Jobs run in the server's :class:`~medlearn.train.jobs.JobManager` (``ui.train.jobs``); this
session remembers only their ids (``train.<scope>.<case>.jobs``), and any queued or
running job of the case is shown, whoever started it. The live part is an
``st.fragment`` that polls once a second while something runs (or replays), so the rest
of the page is not redrawn.
"""

from __future__ import annotations

import time

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError, ModelUnavailableError
from ui.shared import icons, instructor
from ui.shared.data_choice import best_source
from ui.train import jobs, runs_view
from ui.train.architectures import compatible_models
from ui.train.race_chart import LOSS_SCALES, Series, colour_for, race_figure, replay_epochs
from ui.shared.text import plain
from ui.train.train_settings import render_settings
from ui.train.transfer import render_transfer_preset

POLL_S = 1.0
REPLAY_EPOCHS_PER_S = 2.0


def render_train_section(case: CaseStudy, scope: str = "case") -> None:
    """Draw the Train section for ``case``; ``scope`` namespaces its session keys
    (``"case"`` on case pages, ``"race"`` on the Architecture race page)."""
    prefix = f"train.{scope}.{case.key}"
    st.subheader(f"{icons.TRAIN} Train: an architecture race")
    _first_visit(case, prefix)
    request = render_settings(case, prefix, instructor.is_on())
    start, stop_all, pick = st.columns([1, 1, 2], vertical_alignment="bottom")
    preset = bool(st.session_state.get(f"{prefix}.transfer.on"))  # the preset has its own start button
    if not preset and start.button("Start the race", type="primary", key=f"{prefix}.start", icon=icons.RACE,
                                   disabled=not request.archs):
        try:
            ids = jobs.start_race(case, request.archs, request.source, request.variants, **request.choices)
        except MedlearnError as exc:
            st.error(plain(str(exc)))
        else:
            st.session_state[f"{prefix}.jobs"] = ids
            st.session_state.pop(f"{prefix}.replay", None)
    metric = pick.selectbox("Validation metric on the chart", case.metrics, key=f"{prefix}.metric")
    render_transfer_preset(case, prefix, request.source, request.choices)  # queues into this race
    live = [i for i in jobs.case_job_ids(case, _remembered(prefix)) if jobs.manager().status(i) in jobs.LIVE]
    # A callback: the stop is sent when the rerun starts, before the page is drawn again.
    if live:
        stop_all.button("Stop all", key=f"{prefix}.stop_all", icon=icons.STOP, on_click=jobs.stop, args=(live,))
    chart_slot = st.container()
    earlier = _earlier_runs(case, prefix, metric)
    replaying = _replaying(prefix, earlier)
    with chart_slot:
        # A fragment with a timer only while jobs run (or a replay plays): idle pages cost nothing.
        st.fragment(run_every=POLL_S if (live or replaying) else None)(_race)(case, prefix, metric, earlier,
                                                                           bool(live or replaying))


def _remembered(prefix: str) -> list[int]:
    return list(st.session_state.get(f"{prefix}.jobs", []))


def _first_visit(case: CaseStudy, prefix: str) -> None:
    """Say when the case has no trained model yet, and offer the default recipe in the background."""
    from medlearn.predict import default_predictor

    try:
        default_predictor().find_checkpoint(case, None)
        return
    except ModelUnavailableError:
        pass
    from medlearn.data.sources.choice import describe_source

    source = best_source(case)
    recipe = case.recipe_for(source)
    missing = jobs.default_recipe_missing(case, source)
    archs = ", ".join(recipe.architectures)
    if not missing:
        st.info(f"No trained model for {case.title} yet: the default models ({archs}) are training in the "
                "background. Their curves appear below; the rest of the app stays usable.")
        return
    st.info(f"No trained model for {case.title} yet, so Predict cannot answer. Train the default recipe "
            f"({archs}, {recipe.epochs} epochs on {describe_source(source)}) in the background with one click; "
            "you can keep exploring meanwhile.")
    if st.button("Train the default models in the background", key=f"{prefix}.prepare", icon=icons.QUEUE):
        try:
            ids = jobs.queue_default_recipes(case)
        except MedlearnError as exc:
            st.error(plain(str(exc)))
            return
        st.session_state[f"{prefix}.jobs"] = _remembered(prefix) + ids


def _earlier_runs(case: CaseStudy, prefix: str, metric: str) -> list:
    """The run-store picker (below the chart); returns the chosen runs with their epochs."""
    mine = set(_remembered(prefix))
    runs = runs_view.store_rows(case, metric, exclude=mine)
    st.markdown("##### Earlier runs")
    failed = runs_view.failed_rows(case)
    if failed:  # a failed run (a "Prepare all" job too) is never silent: its reason stays listed
        with st.expander(f"{icons.WARNING} {len(failed)} run(s) failed: why"):
            st.text("\n".join(failed))  # the reason may quote a file: plain text
    if not runs:
        st.caption("No finished runs of this case in the run store yet.")
        return []
    by_id = {r.id: r for r in runs}
    key = f"{prefix}.compare"
    if key not in st.session_state:  # instructor mode starts with the best stored run per architecture
        st.session_state[key] = runs_view.best_per_arch(runs, metric) if instructor.is_on() else []
    st.session_state[key] = [i for i in st.session_state[key] if i in by_id]
    chosen = st.multiselect("Overlay earlier runs on the chart (dashed)", list(by_id), key=key,
                            format_func=lambda i: runs_view.run_label(by_id[i], metric))
    with st.expander(f"All {len(runs)} earlier run(s) of this case"):
        busy = runs_view.server_busy()
        rows = [_labelled(runs_view.result_row(case, r.arch, r.status, r.epochs, r.config, r.seconds, r.checkpoint,
                                               metric, r.id, busy), r.arch, r.config) for r in runs[:20]]
        runs_view.results_table(rows, busy)
    if chosen and st.button("Replay the chosen runs", key=f"{prefix}.replay_button",
                            help="Redraw their curves epoch by epoch, as they trained."):
        st.session_state[f"{prefix}.replay"] = time.time()
    return [by_id[i] for i in chosen]


def _replaying(prefix: str, earlier: list) -> bool:
    started = st.session_state.get(f"{prefix}.replay")
    longest = max((len(r.epochs) for r in earlier), default=0)
    return started is not None and (time.time() - started) * REPLAY_EPOCHS_PER_S <= longest + 1


def _race(case: CaseStudy, prefix: str, metric: str, earlier: list, polling: bool) -> None:
    """Progress, Stop buttons, the race chart and the results table (re-run by the timer)."""
    views = [jobs.view(i, case) for i in jobs.case_job_ids(case, _remembered(prefix))]
    # the networks on this chart first: with more compatible models than palette colours (the hippocampus
    # has eight), two networks of one chart would otherwise share a colour
    names = list(dict.fromkeys([v.arch for v in views] + [r.arch for r in earlier]
                               + [s.name for s in compatible_models(case)]))
    # a variant (warm start, ACE images) gets its own colour after the networks'; its label says what differs
    keys = [jobs.variant_label(v.arch, v.config) if _is_variant(v.config) else v.arch for v in views]
    names += [k for k in dict.fromkeys(keys) if k not in names]
    series = [Series(f"{jobs.variant_label(v.arch, v.config)} · run {v.id}", colour_for(k, names), v.batches,
                     v.epoch_rows) for v, k in zip(views, keys)]
    started = st.session_state.get(f"{prefix}.replay")
    shown = (time.time() - started) * REPLAY_EPOCHS_PER_S if started else float("inf")
    series += [Series(f"{jobs.variant_label(r.arch, r.config)} · run {r.id} (stored)", colour_for(r.arch, names), [],
                      replay_epochs(r.epochs, shown), dashed=True) for r in earlier]
    if not series:
        st.caption("Start a race to see the training curves of each architecture grow here, live.")
        return
    for v in views:
        _job_line(v, prefix)
    scale = st.segmented_control("Loss axis", LOSS_SCALES, default=LOSS_SCALES[0], key=f"{prefix}.loss_scale",
                                 help="One large loss (an early batch) can flatten the other curves: a log axis, "
                                      "or cutting the axis at the 95th percentile of the losses, shows them again.")
    st.plotly_chart(race_figure(series, metric, large=instructor.is_on(), loss_scale=scale or LOSS_SCALES[0]),
                    key=f"{prefix}.chart", config={"displaylogo": False})
    st.caption(f"Left: training loss of each run, per batch (lower is better). Right: validation {metric} "
               "after each epoch, on the same held-out images for every architecture. Dashed: stored runs."
               + (" The segmenters minimise Dice + cross-entropy; torchvision's detectors (Mask R-CNN, Faster "
                  "R-CNN) minimise their own sum of proposal, class, box (and mask) losses, on another scale: "
                  "compare how each curve falls, not their heights." if case.task.is_segmentation else ""))
    if case.task.is_detection:  # each run's FROC curve at its last validation (ui.train.froc_view)
        from ui.train.froc_view import render_froc

        render_froc(series, f"{prefix}.froc")
    if views:
        _results(case, views, metric)
    if polling and not any(v.live for v in views) and not _replaying(prefix, earlier):
        st.rerun()  # everything finished: redraw the page once (new runs appear in "Earlier runs")


def _is_variant(config: dict) -> bool:
    return bool(config.get("enhance")) or (config.get("init") or "scratch") != "scratch"


def _labelled(row: dict, arch: str, config: dict) -> dict:
    """A results row whose "architecture" also says its starting weights and images."""
    init = config.get("init") or "scratch"
    start = "random (from scratch)" if init == "scratch" else jobs.variant_label("", {"init": init}).strip(" ·")
    return {**row, "architecture": jobs.variant_label(arch, config), "starting weights": start,
            "images": f"{str(config['enhance']).upper()}-enhanced" if config.get("enhance") else "raw"}


def _job_line(v: jobs.JobView, prefix: str) -> None:
    bar, button = st.columns([6, 1], vertical_alignment="bottom")
    name = f"{jobs.variant_label(v.arch, v.config)} · run {v.id}"
    text = {"queued": f"{name}: queued (waits for a free CPU core)",
            "running": f"{name}: epoch {min(int(v.position) + 1, v.epochs)}/{v.epochs}"}
    bar.progress(v.progress, text=text.get(v.status, f"{name}: {v.status}"))
    if v.live:
        button.button("Stop", key=f"{prefix}.stop.{v.id}", icon=icons.STOP, on_click=jobs.stop, args=([v.id],))
    if v.status == "failed" and v.error:
        st.error(plain(f"{name} failed: {v.error}"))


def _results(case: CaseStudy, views: list, metric: str) -> None:
    from ui.shared.case_page import published_table

    st.markdown("**This race**")
    busy = runs_view.server_busy()
    runs_view.results_table([_labelled(runs_view.result_row(case, v.arch, v.status, v.epoch_rows, v.config,
                                                            v.seconds, v.checkpoint, metric, v.id, busy),
                                       v.arch, v.config) for v in views], busy)
    theirs, _ = st.columns([3, 2])
    with theirs:
        st.markdown("**Published results**")
        if case.published:
            st.table(published_table(case)[["model", "metric", "value", "dataset"]], hide_index=True,
                     border="horizontal")
        else:
            st.caption("No published figures are recorded for this case.")
        st.caption("Ours: small data and a few CPU minutes; theirs: real data and full training. "
                   "Compare the ranking, not the numbers.")
