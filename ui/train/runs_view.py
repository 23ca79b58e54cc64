"""Results of training runs: the race's results table and earlier runs from the run store.

Numbers are measured, never typed in: parameters by building the network
(``ui.shared.cache.model_summary``), inference latency by timing the saved model on a phantom
through ``medlearn.predict`` (networks) or the classical baseline's ``predict_proba``.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.metrics import LOWER_IS_BETTER
from ui.shared import cache
FINISHED = ("done", "stopped")
NUMBER_COLUMNS = frozenset({"parameters", "latency (ms/image)", "training time (s)", "input size", "training items"})


def best_value(epochs: list[dict], metric: str) -> float | None:
    """The best value of ``metric`` over a run's epochs (lowest for losses and HD95)."""
    values = [float(e[metric]) for e in epochs if isinstance(e.get(metric), (int, float)) and e[metric] == e[metric]]
    if not values:
        return None
    return min(values) if metric in LOWER_IS_BETTER else max(values)


def parameters(case: CaseStudy, config: dict) -> int | None:
    """Trainable weights of the run's network (None for the classical baseline)."""
    from medlearn.models import get_spec
    from medlearn.train.plan import model_dims_of

    arch = config.get("arch")
    try:
        if get_spec(arch).framework != "torch":
            return None
        size = int(config.get("input_size") or case.recipe.input_size)
        return cache.model_summary(arch, case.task.in_channels, case.task.num_classes, model_dims_of(arch, case),
                                   int(config.get("width") or case.recipe.width), size)[1]
    except MedlearnError:
        return None


@st.cache_data(max_entries=64, show_spinner="Timing the trained model…")
def latency_ms(case_key: str, checkpoint: str, stamp: int, repeats: int = 5) -> float | None:
    """Median milliseconds to answer for one image (a phantom of the case), after a warm-up.
    ``stamp`` (the file's mtime) makes a retrained checkpoint be timed again."""
    from medlearn.predict import default_predictor

    image = cache.phantoms(case_key, 0, 0.5, ())[0].image
    path = Path(checkpoint)
    if path.suffix == ".classic":
        from medlearn.train.recipes import load_classic

        model, _ = load_classic(path)
        answer = lambda: model.predict_proba([image])  # noqa: E731
    else:
        answer = lambda: default_predictor().predict(case_key, image, checkpoint=path, explain=None)  # noqa: E731
    answer()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        answer()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measured_latency(case: CaseStudy, checkpoint: str | None) -> float | None:
    """:func:`latency_ms` for a saved model, or None when there is none (or it cannot load)."""
    if not checkpoint or not Path(checkpoint).exists():
        return None
    try:
        return latency_ms(case.key, checkpoint, Path(checkpoint).stat().st_mtime_ns)
    except MedlearnError:
        return None


def server_busy() -> bool:
    """Whether a model is training on this server now (then latencies are not measured: the
    training workers hold the CPU, and a time measured under that load would mislead)."""
    from ui.train.jobs import counts

    return counts()["running"] > 0


def result_row(case: CaseStudy, arch: str, status: str, epochs: list[dict], config: dict, seconds,
               checkpoint: str | None, metric: str, run_id: int, busy: bool = False) -> dict:
    """One results-table row for a run; ``busy`` (:func:`server_busy`): leave the latency unmeasured.

    A run that never trained (stopped while queued) has no training time."""
    trained = bool(epochs) or status == "running"
    return {"run": run_id, "architecture": arch, "status": status,
            "parameters": parameters(case, {"arch": arch, **config}),
            "latency (ms/image)": measured_latency(case, checkpoint) if status in FINISHED and not busy else None,
            "training time (s)": round(float(seconds), 1) if seconds and trained else None,
            f"best {metric}": best_value(epochs, metric), "epochs": len(epochs),
            "input size": config.get("input_size"), "training items": config.get("n_train"),
            "data": config.get("source")}


def results_frame(rows: list[dict]) -> pd.DataFrame:
    """Result rows as a table: number columns numeric (a missing number is blank), text
    columns with "—" for a missing value: never a literal "None"."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        values = [v for v in frame[column] if v is not None and v == v]
        if column in NUMBER_COLUMNS or (values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       for v in values)):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        else:
            frame[column] = ["—" if v is None or v != v else v for v in frame[column]]
    return frame


def results_table(rows: list[dict], busy: bool = False) -> None:
    """Draw result rows with readable number formats; ``busy``: say why latencies are blank."""
    st.dataframe(results_frame(rows), hide_index=True, width="stretch", column_config={
        "parameters": st.column_config.NumberColumn(format="localized"),
        "latency (ms/image)": st.column_config.NumberColumn(
            format="%.1f", help="Median time to answer one image, on this server, measured while no model trains."),
    })
    if busy and rows:
        st.caption("Latency is measured once no model is training on this server: while training workers hold "
                   "the CPU, an answer takes several times longer than in class.")


def store_rows(case: CaseStudy, metric: str, exclude: set[int] = frozenset()) -> list:
    """Finished runs of ``case`` in the run store (newest first), minus ``exclude``."""
    from ui.train.jobs import manager

    store = manager().store
    runs = [r for r in store.list_runs(case=case.key) if r.status in FINISHED and r.id not in exclude]
    return [store.get_run(r.id) for r in runs[:50]]


def failed_rows(case: CaseStudy, limit: int = 20) -> list[str]:
    """One line per failed run of ``case`` (newest first): its model, data and the reason."""
    from ui.train.jobs import manager

    runs = [r for r in manager().store.list_runs(case=case.key) if r.status == "failed"][:limit]
    return [f"run {r.id} · {r.arch} on {r.source} · "
            f"{datetime.fromtimestamp(r.created).strftime('%d %b %H:%M')}: {r.error or 'no reason recorded'}"
            for r in runs]


def run_label(run, metric: str) -> str:
    """``"run 12 · resnet18 · ImageNet start · accuracy 0.812 · done · 3 Mar 14:02"``: the variant
    (starting weights, enhanced images) is named, as in the chart's legend."""
    from ui.train.jobs import variant_label

    best = best_value(run.epochs, metric)
    score = f" · {metric} {best:.3f}" if best is not None else ""
    when = datetime.fromtimestamp(run.created).strftime("%d %b %H:%M")
    return f"run {run.id} · {variant_label(run.arch, run.config or {})}{score} · {run.status} · {when}"


def best_per_arch(runs: list, metric: str) -> list[int]:
    """Ids of the best finished run per architecture (the instructor's ready-made curves)."""
    best: dict[str, tuple[float, int]] = {}
    lower = metric in LOWER_IS_BETTER
    for run in runs:
        value = best_value(run.epochs, metric)
        if run.status != "done" or value is None:
            continue
        key = -value if lower else value
        if run.arch not in best or key > best[run.arch][0]:
            best[run.arch] = (key, run.id)
    return [run_id for _, run_id in best.values()]
