"""Transfer learning in the Train section: one network, one split, three starting points.

The preset (:func:`render_transfer_preset`) queues the same network on the same patient
split three times into the race: from scratch, from ImageNet (torchvision's weights, when
they are on this machine) and MedLearn-pretrained (sim-to-real on the case's phantoms, or
another case's run of the same network). The race chart draws their curves as for any race;
once all have finished, :func:`render_comparison` scores each on its validation patients
(``medlearn.evaluate``: every figure with n and a 95 % bootstrap interval) and gives the
paired difference from scratch (``medlearn.train.transfer.paired_differences``).

ImageNet weights are downloaded only when the user clicks (:func:`render_imagenet_offer`):
their size, licence and a progress bar fed by MedLearn's one downloader; offline, the offer
says why the option is off. Whether the host answers is asked only once this preset or the
offer is open (one ``HEAD`` request, remembered for a minute), never on an ordinary page view.
"""

from __future__ import annotations

import threading

import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.train import transfer
from ui.shared import icons
from ui.shared.text import plain

EVAL_RESAMPLES = 500
LESSON = ("The review's authors fine-tune networks pre-trained on natural images (ImageNet) because labelled "
          "medical images are few: starting from weights that already detect edges and textures should beat "
          "starting from random ones. MedLearn can also pre-train on its own data: the case's phantoms "
          "(sim-to-real) or another case. This preset trains **one network on one patient split three ways** "
          "(same data, sizes, epochs and seed; only the starting weights differ) and compares them on the same "
          "validation patients.")
START_WORDS = {transfer.SCRATCH: "From scratch", transfer.IMAGENET: "ImageNet-pretrained",
               transfer.MEDLEARN: "MedLearn-pretrained"}


def start_key(init: str | None) -> str:
    """The comparison's start of a run's ``init``: scratch, imagenet, or medlearn (phantoms or a checkpoint)."""
    init = init or "scratch"
    if init == "scratch":
        return transfer.SCRATCH
    return transfer.IMAGENET if init == "imagenet" else transfer.MEDLEARN


# -- ImageNet weights: size, licence, download on request ---------------------------------------------
@st.cache_resource(show_spinner=False)
def _locks() -> dict[str, threading.Lock]:
    """One lock per weights file and server: two sessions never write the same ``.part``."""
    return {}


def render_imagenet_offer(arch: str, key: str, licence: bool = True) -> bool:
    """Size, licence (``licence``: shown; a list of offers shows it once) and a download button
    for ``arch``'s ImageNet weights (offline: why the option is off and how to get the file by
    hand). Returns whether the weights are here."""
    from medlearn.models.pretrained import LICENCE, fetch_imagenet_weights, weights_file
    from ui.predict.dataset_download import _megabytes, _progress_bar, reachable

    wf = weights_file(arch)
    done = st.session_state.pop(f"{key}.done", None)
    if done:
        st.success(done, icon=icons.RIGHT)
    if wf.cached:
        st.caption(f"{wf.title}'s ImageNet weights are on this machine ({plain(wf.name)}).")
        return True
    approx = round(wf.approx_bytes / 1e6, 1) if wf.approx_bytes else None
    size = reachable(wf.url)
    facts = [_megabytes(size or 0, approx)]
    if wf.num_params:
        facts.append(f"{wf.num_params / 1e6:.1f} M parameters")
    if wf.top1:
        facts.append(f"ImageNet top-1 accuracy {wf.top1:.1f} %")
    st.markdown(f"**{plain(wf.title)}: ImageNet-1K weights from torchvision** · {' · '.join(facts)}")
    if licence:
        st.caption(f"Licence: {LICENCE}")  # MedLearn's own words (plain() would cut them at 300 characters)
    if wf.partial_bytes:
        st.caption(f"An earlier download stopped after {wf.partial_bytes / 1e6:.1f} MB; it resumes from there.")
    if size is None:
        st.warning(f"The ImageNet start is off: this machine cannot reach {plain(wf.host)} (no internet, or the "
                   f"site is down), so {plain(wf.title)}'s ImageNet weights cannot be downloaded. On a machine "
                   f"with internet, download {plain(wf.official_url)} and copy `{wf.name}` into "
                   f"`{wf.dest.parent}`: MedLearn uses the file from there.", icon=":material/wifi_off:")
        if st.button("Check the connection again", key=f"{key}.retry"):
            reachable.clear()
            st.rerun()
        return False
    if st.button(f"Download {wf.title}'s ImageNet weights ({_megabytes(size, approx)})", key=f"{key}.go",
                 icon=icons.DOWNLOAD, help=f"From {wf.host} into the torch cache ({wf.dest.parent}); the SHA-256 "
                                           "prefix in the file name is checked before the file is used."):
        lock = _locks().setdefault(wf.name, threading.Lock())
        if not lock.acquire(blocking=False):
            st.info(f"Someone else is downloading {wf.title}'s ImageNet weights on this server right now; "
                    "they will be here in a moment.", icon=icons.QUEUE)
            return False
        bar = st.progress(0.0, text=f"Connecting to {wf.host}…")
        try:
            fetch_imagenet_weights(arch, progress=_progress_bar(bar, f"{wf.title} ImageNet weights"))
        except MedlearnError as exc:
            bar.empty()
            st.error(plain(str(exc)), icon=icons.ERROR)
            return False
        finally:
            lock.release()
        bar.progress(1.0, text="Downloaded; checksum verified.")
        st.session_state[f"{key}.done"] = (f"{wf.title}'s ImageNet weights are downloaded and verified: the "
                                           "ImageNet start is on.")
        st.rerun()
    return False


# -- the preset ------------------------------------------------------------------------------------------
def render_transfer_preset(case: CaseStudy, prefix: str, source: str, choices: dict) -> None:
    """The transfer-learning preset on the race's data and sizes (``source``, ``choices``)."""
    from ui.train.architectures import compatible_models
    from ui.train.train_settings import model_label

    key = f"{prefix}.transfer"
    with st.container(border=True):
        on = st.toggle("Transfer learning: the same network from scratch, from ImageNet and MedLearn-pretrained",
                       key=f"{key}.on", help="A preset race of three runs on the data and sizes chosen above.")
        if not on:
            st.caption("A preset: one network trained three ways on one split, compared with 95 % intervals.")
            render_comparison(case, prefix)
            return
        st.markdown(LESSON)
        networks = [s.name for s in compatible_models(case) if s.name != "classic"]
        if not networks:
            st.caption("This case has no network to pre-train.")
            return
        default = "resnet18" if "resnet18" in networks else networks[0]
        arch_col, pre_col = st.columns(2)
        arch = arch_col.selectbox("Network", networks, index=networks.index(default), key=f"{key}.arch",
                                  format_func=lambda n: model_label(case, n))
        medlearn_init = _medlearn_choice(case, arch, source, pre_col, key)
        try:
            starts = transfer.transfer_starts(case, arch, source, medlearn_init)
        except MedlearnError as exc:
            st.error(plain(str(exc)))
            return
        _start_cards(case, arch, starts, key)
        width = transfer.comparison_width(arch, starts, case.recipe_for(source).width)
        runs = 1 + len(transfer.transfer_variants(starts))
        if st.button(f"Start the transfer-learning race ({runs} runs of {arch})", type="primary", key=f"{key}.start",
                     icon=icons.RACE, disabled=runs < 2,
                     help="Queued into the race below: the curves grow there; the final scores appear here."):
            _start(case, prefix, arch, source, choices, starts, width)
        render_comparison(case, prefix)


def _medlearn_choice(case: CaseStudy, arch: str, source: str, col, key: str) -> str | None:
    """Sim-to-real on real data, or another case's run of ``arch``; None when neither exists."""
    from ui.train.train_settings import _case_title, _other_case_runs

    others = {c: runs[arch] for c, runs in _other_case_runs(case, [arch]).items() if arch in runs}
    options = ([] if source == "phantoms" else ["phantoms"]) + [f"medlearn:{path}" for path in others.values()]
    if not options:
        col.caption(f"MedLearn pre-training: no finished {arch} run on another case yet, and this race trains on "
                    "phantoms (sim-to-real needs real data).")
        return None
    titles = {"phantoms": f"{case.title} phantoms (sim-to-real)",
              **{f"medlearn:{path}": f"{_case_title(c)} ({arch} run)" for c, path in others.items()}}
    return col.selectbox("MedLearn pre-training on", options, key=f"{key}.medlearn", format_func=titles.get,
                         help="Sim-to-real: the same network trains first on this case's phantoms (reused when "
                              "already trained), then fine-tunes here. Another case: its finished run of the same "
                              "network; every layer but the last is copied.")


def _start_cards(case: CaseStudy, arch: str, starts, key: str) -> None:
    """One column per start: what it is, or why it is off; below them, ImageNet's download offer."""
    from medlearn.models.pretrained import imagenet_weights

    columns = st.columns(len(starts))
    for col, start in zip(columns, starts):
        with col:
            mark = icons.RIGHT if start.available else icons.WRONG
            st.markdown(f"{mark} **{START_WORDS[start.key]}**")
            st.caption(plain(start.reason[0].upper() + start.reason[1:] + "."))
    imagenet = next(s for s in starts if s.key == transfer.IMAGENET)
    if imagenet_weights(arch) is not None:
        if imagenet.available:
            done = st.session_state.pop(f"{key}.imagenet.{arch}.done", None)
            if done:
                st.success(done, icon=icons.RIGHT)
        else:
            with st.container(border=True):
                render_imagenet_offer(arch, f"{key}.imagenet.{arch}")
    if not imagenet.available:
        st.info("ImageNet is unavailable here, so this race compares scratch with MedLearn's own pre-training "
                "only. What that means: the review's lesson (networks pre-trained on ImageNet beat training from "
                "scratch when images are few) cannot be checked on this machine until the weights are here; "
                "nothing is pretended. Once they are, start the preset again.", icon=icons.INFO)


def _start(case: CaseStudy, prefix: str, arch: str, source: str, choices: dict, starts, width: int) -> None:
    from ui.train import jobs

    variants = transfer.transfer_variants(starts)
    try:
        ids = jobs.start_race(case, [arch], source, {arch: variants}, **{**choices, "width": width})
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return
    keys = [transfer.SCRATCH] + [start_key(v["init"]) for v in variants]
    st.session_state[f"{prefix}.jobs"] = ids  # the race below draws their curves
    st.session_state.pop(f"{prefix}.replay", None)
    st.session_state[f"{prefix}.transfer.ids"] = dict(zip(keys, ids))


# -- the comparison ------------------------------------------------------------------------------------
def comparison_groups(case: CaseStudy) -> list[dict[str, object]]:
    """Finished runs of ``case`` that differ only in their starting weights, scratch among
    them (newest first): ``{start key: run}`` per group, at most one run per start."""
    import json

    from ui.train.jobs import manager

    groups: dict[str, dict] = {}
    for run in manager().store.list_runs(case=case.key, status="done"):  # newest first
        config = dict(run.config or {})
        if run.arch == "classic" or not run.checkpoint or "epochs" not in config:
            continue
        same = json.dumps({k: v for k, v in config.items() if k != "init"}, sort_keys=True, default=str)
        groups.setdefault(same, {}).setdefault(start_key(config.get("init")), run)
    return [g for g in groups.values() if transfer.SCRATCH in g and len(g) > 1]


def render_comparison(case: CaseStudy, prefix: str) -> None:
    """This session's transfer race, or an earlier one from the run store: final scores side by side."""
    from ui.train import jobs

    ids = st.session_state.get(f"{prefix}.transfer.ids") or {}
    if ids:
        try:
            views = {k: jobs.view(i, case) for k, i in ids.items()}
        except MedlearnError:  # a run this server no longer knows: offer the stored comparisons instead
            st.session_state.pop(f"{prefix}.transfer.ids", None)
            return render_comparison(case, prefix)
        if any(v.live for v in views.values()):
            st.info(f"{len(views)} runs of {next(iter(views.values())).arch} are training; follow their curves in "
                    "the race chart below. Their final scores with 95 % intervals appear here when all have "
                    "finished.", icon=icons.QUEUE)
            return
        failed = [f"{START_WORDS[k]}: {v.status}" + (f" ({v.error})" if v.error else "")
                  for k, v in views.items() if v.status != "done" or not v.checkpoint]
        if failed:
            st.warning(plain("Not every run finished, so there is nothing to compare: " + "; ".join(failed)))
            return
        runs = {k: jobs.manager().store.get_run(i) for k, i in ids.items()}
    else:
        groups = comparison_groups(case)
        if not groups:
            return
        labels = [_group_label(g) for g in groups]
        pick = st.selectbox("Compare earlier runs that differ only in their starting weights", range(len(groups)),
                            format_func=labels.__getitem__, key=f"{prefix}.transfer.group", index=None,
                            placeholder=f"{len(groups)} earlier comparison(s) of this case")
        if pick is None:
            return
        runs = groups[pick]
    _draw_comparison(case, runs)


def _group_label(group: dict) -> str:
    scratch = group[transfer.SCRATCH]
    cfg = scratch.config or {}
    order = [k for k in ORDER if k in group]
    return (f"{scratch.arch} on {scratch.source} · {cfg.get('epochs')} epochs · {cfg.get('input_size')} px: "
            + " vs ".join(f"{START_WORDS[k]} (run {group[k].id})" for k in order))


@st.cache_data(max_entries=16, show_spinner="Scoring each run on the validation patients…")
def _scores(case_key: str, checkpoints: tuple[tuple[str, str, int], ...], metrics: tuple[str, ...]):
    """``compare_checkpoints`` as plain dicts (cached; the files' mtimes in the key)."""
    evaluations, differences = transfer.compare_checkpoints(case_key, {k: p for k, p, _ in checkpoints}, metrics,
                                                            resamples=EVAL_RESAMPLES)
    figures = {k: {m: ev.figure(m).to_dict() for m in metrics if _has(ev, m)} for k, ev in evaluations.items()}
    diffs = {k: {m: f.to_dict() for m, f in d.items()} for k, d in differences.items()}
    sizes = {k: (ev.n_items, ev.n_groups) for k, ev in evaluations.items()}
    return figures, diffs, sizes


def _has(evaluation, metric: str) -> bool:
    try:
        evaluation.figure(metric)
    except KeyError:
        return False
    return True


def comparison_metrics(case: CaseStudy) -> tuple[str, ...]:
    """The figures compared: AUC, accuracy and (ordinal grades) kappa; Dice for a segmenter."""
    if case.task.is_segmentation:
        return ("dice",)
    return ("auc", "accuracy") + (("kappa",) if case.task.ordinal else ())


def _draw_comparison(case: CaseStudy, runs: dict) -> None:
    """Curves, a table of figures (one row per figure, one column per start, then each paired
    difference from scratch) and a forest plot of the first figure."""
    import os

    import pandas as pd

    from ui.train.jobs import manager
    from ui.train.race_chart import Series, race_figure

    metrics = comparison_metrics(case)
    order = [k for k in ORDER if k in runs]
    files = tuple((k, runs[k].checkpoint, int(os.path.getmtime(runs[k].checkpoint))) for k in order
                  if runs[k].checkpoint and os.path.exists(runs[k].checkpoint))
    if len(files) < len(order):
        st.warning("A checkpoint of this comparison is no longer on disk; train the preset again.")
        return
    palette = _palette(order)
    stored = {k: manager().store.get_run(runs[k].id) for k in order}  # with their epochs
    series = [Series(f"{START_WORDS[k]} · run {runs[k].id}", palette[k], [], stored[k].epochs) for k in order]
    curves = race_figure(series, metrics[0], val_loss=True)
    curves.layout.annotations[0].text = "Training (thin) and validation loss"  # fits half a narrow page
    st.plotly_chart(curves, key=f"transfer.curves.{case.key}", config={"displaylogo": False})
    st.caption("Loss: training thin, validation thick with open markers; the same validation items for every "
               "start.")
    try:
        figures, diffs, sizes = _scores(case.key, files, metrics)
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return
    n_items, n_groups = sizes[transfer.SCRATCH]
    st.markdown(f"**Final scores on the same {n_items} validation items** (n {n_items}; {n_groups} patients or "
                "images resampled for the 95 % bootstrap intervals)")
    rows = []
    for m in metrics:
        label = next((figures[k][m]["label"] for k in order if m in figures[k]), m)
        row = {"figure": label}
        row.update({f"{START_WORDS[k]} (run {runs[k].id})": _with_interval(figures[k].get(m, {})) for k in order})
        row.update({f"{START_WORDS[k]} − scratch (paired)": _with_interval(diffs[k].get(m, {}), signed=True)
                    for k in order if k != transfer.SCRATCH})
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.plotly_chart(_forest(order, figures, metrics[0]), key=f"transfer.forest.{case.key}",
                    config={"displaylogo": False})
    st.caption(_reading(order, figures, diffs, metrics[0]))


ORDER = (transfer.SCRATCH, transfer.IMAGENET, transfer.MEDLEARN)


def _palette(order: list[str]) -> dict[str, str]:
    """One colour per start, as the race chart draws its n-th curve (``race_chart.PALETTE``), so
    the curves and the forest plot agree."""
    from ui.train.race_chart import PALETTE

    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(order)}


def _with_interval(f: dict, signed: bool = False) -> str:
    """``0.806 [0.744, 0.862]``; ``signed``: ``+0.007 [-0.009, +0.026]``."""
    if not f or f.get("value") is None:
        return "—"
    fmt = "{:+.3f}" if signed else "{:.3f}"
    ci = f" [{fmt.format(f['ci_low'])}, {fmt.format(f['ci_high'])}]" if f.get("ci_low") is not None else ""
    return f"{fmt.format(f['value'])}{ci}"


def _forest(order: list[str], figures: dict, metric: str) -> go.Figure:
    """Each start's figure with its 95 % interval, one row each (a forest plot)."""
    fig = go.Figure()
    palette = _palette(order)
    label = metric
    for k in order:
        f = figures[k].get(metric)
        if not f or f.get("value") is None:
            continue
        label = f["label"]
        low, high = f.get("ci_low"), f.get("ci_high")
        error = (dict(type="data", symmetric=False, array=[high - f["value"]], arrayminus=[f["value"] - low])
                 if low is not None and high is not None else None)
        fig.add_trace(go.Scatter(x=[f["value"]], y=[START_WORDS[k]], mode="markers", error_x=error,
                                 marker=dict(size=12, color=palette[k]), name=START_WORDS[k],
                                 hovertemplate=f"{START_WORDS[k]}: %{{x:.3f}}<extra></extra>"))
    fig.update_layout(height=90 + 45 * len(order), margin=dict(l=10, r=10, t=30, b=40), showlegend=False,
                      title=dict(text=f"Validation {label}, 95 % interval", font=dict(size=14)),
                      xaxis_title=label, yaxis=dict(autorange="reversed"))
    return fig


def _reading(order: list[str], figures: dict, diffs: dict, metric: str) -> str:
    """How to read the comparison, in words drawn from the numbers."""
    parts = []
    for k in order:
        if k == transfer.SCRATCH or metric not in diffs.get(k, {}):
            continue
        d = diffs[k][metric]
        if d.get("ci_low") is None or d.get("value") is None:
            continue
        if d["ci_low"] > 0:
            verdict = "better than scratch: the whole interval of the difference lies above zero"
        elif d["ci_high"] < 0:
            verdict = "worse than scratch: the whole interval of the difference lies below zero"
        else:
            verdict = "not distinguishable from scratch on these patients: the interval of the difference spans zero"
        parts.append(f"{START_WORDS[k]} is {verdict} ({d['value']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]).")
    if transfer.IMAGENET not in order:
        parts.append("No ImageNet run: its weights are not on this machine, so the review's comparison is only "
                     "half made here.")
    return " ".join(parts) or "Each figure is on the same validation items; the intervals come from resampling them."
