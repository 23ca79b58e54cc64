"""Trust lesson "Overfitting": the model's architecture races itself on its own data, once on
all the training data with true labels and once on a small share with noisy labels; the
training and validation loss curves grow live, and part where the network starts to learn
its training images by heart. Early stopping is marked (:mod:`medlearn.trust.overfitting`).

The race runs in the server's job manager (``ui.train.jobs.start_race``), so it keeps training when
the student looks elsewhere; an overfitting race of this case already queued or running on
the server (or started earlier by this server) is picked up instead of a new one.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.predict import TrainedModel
from medlearn.trust.overfitting import DEFAULT_PATIENCE, summarise
from ui.shared import icons, instructor
from ui.train import jobs
from ui.train.race_chart import PALETTE, Series, loss_figure
from ui.shared.text import plain
from ui.train.train_settings import overfitting_dials

POLL_S = 1.0
SMALL_SHARE, NOISE = 0.1, 0.3  # the lesson's defaults: 10 % of the data, 30 % of its labels flipped
EPOCHS = 20
SIZES = ("input_size", "n_train", "n_val", "batch_size", "width", "learning_rate", "augment", "balanced", "crop",
         "enhance", "enhance_params")
EXPLANATION = ("A network trained on few images, or on wrong labels, can learn its training images by heart: "
               "its training loss keeps falling while its validation loss, on images it never trained on, "
               "stops falling and climbs again. The epoch where validation loss is lowest (the star) is the "
               "model worth keeping; early stopping ends training once validation has not improved for "
               "*patience* epochs (the cross).")


def render(case: CaseStudy, model: TrainedModel, key: str) -> None:
    """The dials, the Start button and the live loss curves of this case's overfitting race."""
    st.markdown(f"#### {icons.TRAIN} Overfitting: when training goes too well")
    st.markdown(EXPLANATION)
    if case.task.is_segmentation:
        st.caption("Segmentation: the labels are masks, so only the share of data changes; no labels are flipped.")
    choices = overfitting_dials(case, key, SMALL_SHARE, 0.0 if case.task.is_segmentation else NOISE)
    epochs_col, patience_col, start_col = st.columns([1, 1, 2], vertical_alignment="bottom")
    epochs = epochs_col.number_input("Epochs", 2, 60, EPOCHS, key=f"{key}.epochs",
                                     help="Overfitting shows after enough epochs; each run trains this many.")
    patience = patience_col.number_input("Early-stopping patience", 1, 10, DEFAULT_PATIENCE, key=f"{key}.patience",
                                         help="Epochs without a better validation loss before training would stop.")
    if start_col.button("Start the overfitting race", type="primary", key=f"{key}.start", icon=icons.RACE,
                        disabled=not choices):
        _start(case, model, key, choices, int(epochs))
    if not choices:
        st.caption("Pick a smaller share of the data (or some label noise) to race against all the data.")
    ids = race_ids(case, key)
    live = any(jobs.manager().status(i) in jobs.LIVE for i in ids)
    st.fragment(run_every=POLL_S if live else None)(_curves)(case, key, ids, int(patience), live)


def _start(case: CaseStudy, model: TrainedModel, key: str, choices: dict, epochs: int) -> None:
    """Queue the pair: the share/noise run and its twin on all data with true labels, from scratch."""
    try:
        sizes = _run_sizes(model)
        ids = jobs.start_race(case, [model.arch], model.source, {model.arch: [{"train_fraction": 1.0,
                                                                                "label_noise": 0.0}]},
                              epochs=epochs, **sizes, **choices)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    st.session_state[f"{key}.jobs"] = ids


def _run_sizes(model: TrainedModel) -> dict:
    """The model's own run's sizes (input size, items, batch...), so the race trains as it did."""
    config = jobs.manager().store.get_run(model.run_id).config
    return {name: config[name] for name in SIZES if config.get(name) is not None} | {"seed": config.get("seed", 0)}


def is_overfitting_job(kwargs: dict) -> bool:
    """A job of an overfitting race: it names its share of data or its label noise (the twin says 100 %)."""
    return "train_fraction" in kwargs or "label_noise" in kwargs


def race_ids(case: CaseStudy, key: str) -> list[int]:
    """This session's overfitting race, else the newest one of ``case`` this server knows
    (queued, running or finished): the share/noise run and its twin."""
    remembered = [i for i in st.session_state.get(f"{key}.jobs", []) if _known(i)]
    if remembered:
        return remembered
    ours = [j for j in jobs.manager().jobs() if j.kwargs.get("case_key") == case.key and is_overfitting_job(j.kwargs)]
    ours.sort(key=lambda j: j.id)
    if not ours:
        return stored_race(case)
    last = ours[-1]
    pair = [j.id for j in ours if abs(j.id - last.id) <= 1 and j.kwargs.get("arch") == last.kwargs.get("arch")]
    return pair[-2:]


def stored_race(case: CaseStudy) -> list[int]:
    """The newest finished overfitting pair of ``case`` in the run store (after a server
    restart): a run with a share of data or label noise and the run beside it (the same
    network, data and epochs on all data with true labels)."""
    runs = {r.id: r for r in jobs.manager().store.list_runs(case=case.key, status="done")}
    for run in runs.values():  # newest first
        if run.config.get("train_fraction") or run.config.get("label_noise"):
            for other in (runs.get(run.id + 1), runs.get(run.id - 1)):
                if other is not None and not is_overfitting_job(other.config) and all(
                        other.config.get(k) == run.config.get(k) for k in ("arch", "source", "epochs")) \
                        and other.arch == run.arch:
                    return sorted([run.id, other.id], key=lambda i: i != run.id)
    return []


def _known(job_id: int) -> bool:
    try:
        jobs.manager().status(job_id)
    except MedlearnError:
        return False
    return True


def _curves(case: CaseStudy, key: str, ids: list[int], patience: int, polling: bool) -> None:
    """Progress, the loss chart with its early-stopping marks, and the figures of each run."""
    if not ids:
        st.caption("Start the race to watch both runs' training and validation loss grow here, epoch by epoch.")
        return
    views = [jobs.view(i, case) for i in ids]
    series = []
    for v in views:
        label = f"{jobs.variant_label(v.arch, v.config)} · run {v.id}"
        text = {"queued": f"{label}: queued (waits for a free CPU core)",
                "running": f"{label}: epoch {min(int(v.position) + 1, v.epochs)}/{v.epochs}"}
        st.progress(v.progress, text=text.get(v.status, f"{label}: {v.status}"))
        if v.status == "failed" and v.error:
            st.error(plain(f"{label} failed: {v.error}"), icon=icons.ERROR)
        series.append(Series(label, PALETTE[len(series) % len(PALETTE)], [], v.epoch_rows))
    st.plotly_chart(loss_figure(series, patience, large=instructor.is_on()), key=f"{key}.chart",
                    config={"displaylogo": False})
    st.caption("Dotted: training loss (on the run's own, possibly wrong, labels); solid: validation loss on the "
               "same held-out images with true labels for both runs. Star: the epoch of the best validation loss; "
               f"cross: where early stopping with patience {patience} would have stopped. Gap: final validation "
               "minus training loss.")
    st.dataframe(summary_table(series, patience), hide_index=True, width="stretch")
    if polling and not any(v.live for v in views):
        st.rerun()  # finished: one full redraw (the timer stops)


def summary_table(series: list[Series], patience: int) -> pd.DataFrame:
    """One row per run: epochs, best validation epoch, early stop, final losses and their gap."""
    rows = []
    for s in series:
        fit = summarise(s.epochs, patience)
        rows.append({"run": s.label, "epochs": fit.epochs, "best validation epoch": fit.best_epoch,
                     f"early stop (patience {patience})": str(fit.stop_epoch or "none"),
                     "final training loss": fit.train_loss, "final validation loss": fit.val_loss,
                     "gap": fit.gap})
    return pd.DataFrame(rows).round(3)
