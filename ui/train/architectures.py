"""Architecture cards: what a network is, layer by layer, measured from the model itself.

Used by the home page's gallery and the "Architecture race" page. Tables come from
``medlearn.models.summary.describe_model`` run on a freshly built network (cached); the
comparison also lists what the run store holds for each model (finished runs, best score).
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.models import get_spec, list_models
from ui.shared import cache
GALLERY_SIZE = 64  # input side used to describe a model when no case fixes one
MISSING = "—"  # shown in a table cell that has no value (never the text "None")
RIGHT = st.column_config.TextColumn(alignment="right")  # counts rendered as text stay right-aligned


def compatible_models(case: CaseStudy) -> list:
    """Registered models that fit the case's task in any of its model dimensionalities."""
    seen: dict[str, object] = {}
    for dims in case.task.model_dims:
        for spec in list_models(case.task.kind, dims):
            seen.setdefault(spec.name, spec)
    return list(seen.values())


def fit_size(spec, size: int) -> int:
    """The nearest valid input side for ``spec`` at or above ``size``."""
    size = max(size, spec.min_size)
    return -(-size // spec.size_multiple) * spec.size_multiple


def model_card(name: str, *, in_channels: int, num_classes: int, spatial_dims: int, width: int,
               input_size: int, layers: bool = True) -> None:
    """Title, reference, parameter count and (optionally) the layer table of one model.

    Side by side (``layers=False``), the card is its title and counts; the layer tables then
    go in :func:`render_layer_tabs`, one full-width table per model (four tables in a row of
    columns scroll sideways at 1024 px)."""
    spec = get_spec(name)
    size = fit_size(spec, input_size)
    st.markdown(f"**{spec.title}** · {spatial_dims}D · {spec.library}")
    st.caption(spec.paper)
    if spec.framework != "torch":
        st.markdown(_classic_text(spec))
        return
    try:
        table, total = cache.model_summary(name, in_channels, num_classes, spatial_dims, width, size)
    except MedlearnError as exc:
        st.warning(str(exc))
        return
    shape = " × ".join(str(d) for d in (in_channels, *[size] * spatial_dims))
    st.metric("Parameters", f"{total:,}", help=f"Trainable weights for input {shape} and width {width}.")
    if layers:
        show_layers(table)
    if spec.width_note:
        st.caption(f"Width: {spec.width_note}")


def format_count(value) -> str:
    """``1234567`` -> ``"1,234,567"``; a missing count -> ``"—"``."""
    return MISSING if value is None or value != value else f"{int(value):,}"


def format_score(value) -> str:
    """A metric to three decimals, or ``"—"`` when there is none yet."""
    return MISSING if value is None or value != value else f"{float(value):.3f}"


def show_layers(table: pd.DataFrame) -> None:
    """The layer table, full width, parameter counts right-aligned."""
    st.dataframe(layer_table_view(table), hide_index=True, width="stretch", height=320,
                 column_config={"parameters": RIGHT})


def layer_table_view(table: pd.DataFrame) -> pd.DataFrame:
    """The layer table as shown: parameter counts with thousands separators."""
    return table.assign(parameters=table["parameters"].map(format_count))


def short_reference(paper: str) -> str:
    """``"He K, Zhang X, ... CVPR 2016."`` -> ``"He et al. 2016"`` (first author, year)."""
    names = [a.split()[0] for a in paper.split(". ", 1)[0].split(", ") if a.split()]
    years = re.findall(r"\b(?:19|20)\d{2}\b", paper)
    if len(names) == 2 and names[1] != "et":
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al." if len(names) > 1 else (names[0] if names else paper[:20])
    return f"{who} {years[-1]}" if years else who


def _classic_text(spec) -> str:
    from medlearn.models import ClassicConfig

    return (f"Not a neural network: hand-crafted features (intensity, texture and shape; colour for "
            f"colour pictures) fed to a scikit-learn pipeline, StandardScaler then "
            f"{ClassicConfig().classifier.replace('_', ' ')} by default. It has no layers to list; on "
            "small data sets it is often a strong baseline.")


def case_dims(spec, case: CaseStudy) -> int:
    """The dimensionality a model runs at for a case (its first one the case allows)."""
    return next(d for d in spec.spatial_dims if d in case.task.model_dims)


def comparison_rows(case: CaseStudy, names: list[str]) -> list[dict]:
    """One row per model: title, dims, library, parameters (measured, ``None`` if not a network), reference."""
    from ui.shared.data_choice import default_recipe

    recipe = default_recipe(case)
    rows = []
    for name in names:
        spec = get_spec(name)
        dims = case_dims(spec, case)
        total = None
        if spec.framework == "torch":
            try:
                total = cache.model_summary(name, case.task.in_channels, case.task.num_classes, dims,
                                            recipe.width, fit_size(spec, recipe.input_size))[1]
            except MedlearnError:
                total = None
        rows.append({"model": spec.title, "name": name, "dims": f"{dims}D", "library": spec.library,
                     "parameters": total, "default for this case": name in recipe.architectures,
                     "reference": spec.paper})
    return rows


def trained_summary(case: CaseStudy) -> dict[str, tuple[int, float | None]]:
    """``arch -> (finished runs, best final value of the case's first metric)`` from the run store."""
    from medlearn.metrics import is_better
    from medlearn.train.store import RunStore

    metric = case.metrics[0] if case.metrics else "val_loss"
    out: dict[str, tuple[int, float | None]] = {}
    for run in RunStore().list_runs(case=case.key, status="done"):
        count, best = out.get(run.arch, (0, None))
        value = run.metrics.get(metric)
        if isinstance(value, (int, float)) and value == value and (best is None or is_better(metric, value, best)):
            best = float(value)
        out[run.arch] = (count + 1, best)
    return out


def comparison_view(rows: list[dict]) -> pd.DataFrame:
    """The comparison table as shown: counts with separators, "—" for missing values, short references."""
    # The registry name is for code, not for people: dropped so that every column fits at 1400 px.
    table = pd.DataFrame(rows).drop(columns="name").rename(columns={"default for this case": "case default"})
    for column in table.columns:
        if column == "parameters":
            table[column] = table[column].map(format_count)
        elif column.startswith("best "):
            table[column] = table[column].map(format_score)
    table["reference"] = table["reference"].map(short_reference)
    return table


def render_comparison(case: CaseStudy) -> None:
    """Every compatible model in a table (with its trained runs), then chosen ones side by side."""
    from ui.shared.data_choice import default_recipe

    specs = compatible_models(case)
    names = [s.name for s in specs]
    recipe = default_recipe(case)
    rows, trained = comparison_rows(case, names), trained_summary(case)
    metric = case.metrics[0] if case.metrics else "val_loss"
    for row in rows:
        row["trained runs"], row[f"best {metric}"] = trained.get(row["name"], (0, None))
    st.dataframe(comparison_view(rows), hide_index=True, width="stretch",
                 column_config={"parameters": RIGHT, f"best {metric}": RIGHT,
                                "reference": st.column_config.TextColumn(
                                    help="First author and year; the full references are listed below.")})
    st.caption(f"Measured on freshly built networks for this case's input: {case.task.in_channels} channel(s), "
               f"{recipe.input_size} px, {case.task.num_classes} classes, width {recipe.width}. "
               f"{MISSING} = not a neural network (no weights to count) or no finished run yet.")
    with st.expander("References"):
        for paper in dict.fromkeys(row["reference"] for row in rows):
            st.markdown(f"- {paper}")
    defaults = [n for n in recipe.architectures if n in names]
    chosen = st.multiselect("Compare side by side", names, default=defaults[:3],
                            format_func=lambda n: get_spec(n).title, key=f"race.{case.key}.chosen",
                            max_selections=4)
    if not chosen:
        return
    shapes = {name: dict(in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                         spatial_dims=case_dims(get_spec(name), case), width=recipe.width,
                         input_size=recipe.input_size) for name in chosen}
    for column, name in zip(st.columns(len(chosen), gap="small"), chosen):
        with column, st.container(border=True):
            model_card(name, **shapes[name], layers=False)
    render_layer_tabs(shapes)


def render_layer_tabs(shapes: dict[str, dict]) -> None:
    """One tab per network with its full-width layer table (``shapes``: ``model_card``'s sizes by name)."""
    networks = [name for name in shapes if get_spec(name).framework == "torch"]
    if not networks:
        return
    st.markdown("**Layer by layer**")
    for tab, name in zip(st.tabs([get_spec(n).title for n in networks]), networks):
        with tab:
            try:
                table, _ = cache.model_summary(name, **{**shapes[name], "input_size": fit_size(
                    get_spec(name), shapes[name]["input_size"])})
            except MedlearnError as exc:
                st.warning(str(exc))
                continue
            show_layers(table)
