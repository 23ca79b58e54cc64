"""Training jobs for the UI: the server's one JobManager and a read-only view of each job.

The :class:`~medlearn.train.jobs.JobManager` is a ``st.cache_resource`` (one per server and
data home), so a race keeps running when the student navigates away; a session keeps
only job ids (``train.*`` keys). Everything here calls ``medlearn.train``; no training
code lives in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.home import data_home
from medlearn.errors import MedlearnError, MedlearnInputError
from medlearn.train.jobs import JobManager
from medlearn.train.records import FINAL, LIVE, BatchProgress, EpochResult
from ui.shared.data_choice import best_source


@st.cache_resource(show_spinner=False)
def _manager_for(home: str) -> JobManager:
    """One manager per data home (a server has one home; tests switch homes)."""
    from medlearn.train.store import RunStore

    return JobManager(RunStore())


def manager() -> JobManager:
    """The job manager shared by every session of this server."""
    return _manager_for(str(data_home()))


@dataclass
class JobView:
    """What the Train panel shows of one job.

    Attributes:
        id: job id (= run id in the run store).
        arch: architecture name.
        status: ``queued``, ``running``, ``done``, ``stopped``, ``failed``, ``interrupted``.
        epochs: planned epochs.
        position: epochs done, fractional by batch (``1.5`` = half-way through epoch 2).
        batches: ``(x, loss)`` per streamed training batch, x in fractional epochs.
        epoch_rows: per-epoch metrics dicts (``epoch``, ``train_loss``, ``val_loss``, scores).
        error: the job's error message, if it failed.
        config: what the job was asked to do (case, arch, source, sizes...).
        seconds: wall time of a finished run; checkpoint: its saved model, if any.
    """

    id: int
    arch: str
    status: str
    epochs: int
    position: float = 0.0
    batches: list[tuple[float, float]] = field(default_factory=list)
    epoch_rows: list[dict] = field(default_factory=list)
    error: str | None = None
    config: dict = field(default_factory=dict)
    seconds: float | None = None
    checkpoint: str | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def progress(self) -> float:
        """Fraction done in ``[0, 1]``."""
        if self.status == "done":
            return 1.0
        return min(max(self.position / max(self.epochs, 1), 0.0), 1.0)


def view(job_id: int, case: CaseStudy) -> JobView:
    """Collect a job's streamed batches and its epochs (from the store once it has ended)."""
    m = manager()
    status = m.status(job_id)
    try:
        job = m.job(job_id)
        config, error = dict(job.kwargs), job.error
    except MedlearnError:  # a run from before this server started: the store knows it
        run = m.store.get_run(job_id)
        config, error = {"arch": run.arch, **run.config}, run.error
    r = case.recipe_for(str(config.get("source") or "phantoms"))  # a real source's own recipe
    config = {"epochs": r.epochs_for(str(config.get("arch"))), "input_size": r.input_size,
              "n_train": r.train_cases, "width": r.width, **{k: v for k, v in config.items() if v is not None}}
    messages = m.metrics(job_id)
    progress = [b for b in messages if isinstance(b, BatchProgress)]
    batches = [(b.position, float(b.loss)) for b in progress]
    epochs = [e.metrics for e in messages if isinstance(e, EpochResult)]
    streamed = [b.epochs for b in progress if b.epochs]
    seconds = checkpoint = None
    if status in FINAL or not epochs or not progress:
        stored = m.store.get_run(job_id)
        epochs = stored.epochs or epochs
        error, seconds, checkpoint = error or stored.error, stored.seconds, stored.checkpoint
        if not progress and stored.progress and status not in FINAL:  # a run another replica started
            batches = [(float(x), float("nan") if loss is None else float(loss))
                       for x, loss in stored.progress.get("batches", [])]
            streamed = [int(stored.progress["epochs"])] if stored.progress.get("epochs") else []
    position = max([x for x, _ in batches] + [float(e["epoch"]) for e in epochs] + [0.0])
    planned = int(streamed[-1] if streamed and status not in FINAL else
                  len(epochs) if status == "done" and epochs else config["epochs"])  # a time budget shortens runs
    return JobView(job_id, str(config.get("arch", "?")), status, planned, position, batches, epochs, error, config,
                   seconds, checkpoint)


def wait_words(job_id: int) -> str:
    """Where a queued job stands, in words: the jobs ahead of it and, when earlier runs of the
    same recipes timed them here, about how long until it is trained."""
    import statistics

    m = manager()
    live = [j for j in m.jobs() if j.status in LIVE]
    ahead = [j for j in live if j.status == "queued" and j.id < job_id]
    running = [j for j in live if j.status == "running"]
    mine = next((j for j in live if j.id == job_id), None)

    def typical(job) -> float | None:  # the median time of this recipe's finished runs on this server
        kw = job.kwargs
        times = [r.seconds for r in m.store.list_runs(case=kw.get("case_key"), arch=kw.get("arch"), status="done")
                 if r.source == kw.get("source") and r.seconds]
        return statistics.median(times) if times else None

    place = (f"{len(ahead)} job{'s' if len(ahead) != 1 else ''} queued ahead of this one, "
             f"{len(running)} training now") if ahead else f"next in line; {len(running)} training now"
    times = [typical(j) for j in [*ahead, *running, *([mine] if mine else [])]]
    if not times or any(t is None for t in times):
        return f"Waiting for a free CPU core: {place} (no earlier run of these recipes here to time the wait by)."
    ahead_s = sum(times[:len(ahead)]) + sum(times[len(ahead):len(ahead) + len(running)]) / 2  # running: half done
    total = ahead_s / m.max_workers + times[-1]
    return (f"Waiting for a free CPU core: {place}. Ready in about {max(1, round(total / 60))} min "
            "(from earlier runs of these recipes on this server).")


def case_job_ids(case: CaseStudy, remembered: list[int]) -> list[int]:
    """This session's jobs plus every queued or running job of ``case`` on the server."""
    ids = [i for i in remembered if _known(i)]
    for job in manager().jobs():
        if job.kwargs.get("case_key") == case.key and job.status in LIVE and job.id not in ids:
            ids.append(job.id)
    return ids


def _known(job_id: int) -> bool:
    try:
        manager().status(job_id)
    except MedlearnError:
        return False
    return True


def start_race(case: CaseStudy, archs: list[str], source: str, variants: dict | None = None,
               **choices) -> list[int]:
    """Check every plan in this process (bad choices fail here, with a message), then queue
    one job per architecture on the same split, plus one per variant in ``variants``
    (``{arch: [{"init": ...} or {"enhance": "ace"}, ...]}``). ``choices``: epochs,
    input_size, n_train, n_val, batch_size, learning_rate, seed, augment."""
    from medlearn.train.plan import make_plan

    if not archs:
        raise MedlearnInputError("Pick at least one architecture to train.")
    runs = [(arch, {}) for arch in archs] + [(arch, dict(extra)) for arch in archs
                                             for extra in (variants or {}).get(arch, [])]
    for arch, extra in runs:
        make_plan(case, arch, source, **{**choices, **extra})
        _check_size(arch, case, choices.get("input_size") or case.recipe.input_size)
    seed = choices.pop("seed", 0)
    return [manager().submit(case.key, arch, source, seed=seed, **{**choices, **extra}) for arch, extra in runs]


def variant_label(arch: str, config: dict) -> str:
    """``"resnet18"``, ``"resnet18 · ACE images"``, ``"resnet18 · warm start: Breast ultrasound"``
    ``"resnet18 · ImageNet start"``, ``"resnet18 · 10% of training data · 30% labels flipped"``:
    what the run trained from, in the legend and tables."""
    parts = [arch]
    init = config.get("init") or "scratch"
    if init == "imagenet":
        parts.append("ImageNet start")
    elif init == "phantoms":
        parts.append("phantom pre-trained")
    elif init.startswith("medlearn:"):
        parts.append(f"warm start: {_source_case(init[len('medlearn:'):])}")
    if config.get("enhance"):
        parts.append(f"{str(config['enhance']).upper()} images")
    if config.get("augment") is False:
        parts.append("no augmentation")
    elif config.get("augment") == "strong":
        parts.append("strong augmentation")
    if float(config.get("train_fraction") or 1.0) < 1.0:
        parts.append(f"{float(config['train_fraction']):.0%} of training data")
    if config.get("label_noise"):
        parts.append(f"{float(config['label_noise']):.0%} labels flipped")
    return " · ".join(parts)


def _source_case(ref: str) -> str:
    """The case a warm-start checkpoint (path or run id) was trained on, for labels."""
    from medlearn.cases import get_case
    from medlearn.train.checkpoints import read_meta

    try:
        path = manager().store.get_run(int(ref)).checkpoint if ref.isdigit() else ref
        return get_case(read_meta(path)["case"]).title
    except (MedlearnError, KeyError, TypeError, OSError):
        return "another MedLearn run"


def _check_size(arch: str, case: CaseStudy, size: int) -> None:
    """The network must accept ``size`` (e.g. VGG needs 32 px); the classic baseline takes any."""
    from medlearn.models import get_spec
    from medlearn.models.checks import check_spatial_size

    spec = get_spec(arch)
    if spec.framework == "torch":
        check_spatial_size((int(size),), spec.title, spec.size_multiple, spec.min_size)


def stop(job_ids: list[int]) -> int:
    """Ask jobs to stop (queued ones are dropped); returns how many were live."""
    return sum(manager().stop(i) for i in job_ids if manager().status(i) in LIVE)


def default_recipe_missing(case: CaseStudy, source: str | None = None) -> list[str]:
    """Default architectures of ``case`` with no checkpoint for the default recipe yet (on
    ``source``, default: the case's best data here) and no queued or running job of their own."""
    from medlearn.train.recipes import recipe_ready

    source = source or best_source(case)
    busy = {j.kwargs.get("arch") for j in manager().jobs()
            if j.kwargs.get("case_key") == case.key and j.status in LIVE}
    return [a for a in case.recipe_for(source).architectures
            if a not in busy and not recipe_ready(case.key, a, source)]


def queue_default_recipes(case: CaseStudy) -> list[int]:
    """Queue the default recipe of every default architecture that has no checkpoint yet, on
    the case's best data here (what ``python -m medlearn prepare CASE`` trains)."""
    source = best_source(case)
    return [manager().submit(case.key, arch, source) for arch in default_recipe_missing(case, source)]


def counts() -> dict[str, int]:
    """How many of the server's jobs are queued and running."""
    jobs = manager().jobs()
    return {state: sum(j.status == state for j in jobs) for state in LIVE}
