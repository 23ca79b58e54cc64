"""The race chart: training loss and a validation metric of every architecture on one plotly figure.

Left panel: training loss per streamed batch (x = epochs, fractional by batch) with the
epoch means as markers; right panel: the chosen validation metric per epoch.

Line styles: runs that share a colour from :func:`colour_for` (one architecture, with its
warm-start or ACE variants) share a colour on the chart, and the architectures on one chart
get the palette's colours in order of appearance (Okabe-Ito, colour-blind safe; the most
distinct first, so a two-network race is never blue against sky blue). The dash and the
marker tell apart runs of one architecture (a warm start, ACE images, a stored run): no
two runs on a chart share a colour + dash pair (:func:`line_styles`). The legend text
says what each run is.

Overfitting: ``val_loss=True`` adds each run's validation loss to the loss panel (thick,
open markers) and ``patience`` marks the epoch of the best validation loss (a star) and
where a patience-based early stop would have ended the run (a cross), computed by
:mod:`medlearn.trust.overfitting`; :func:`loss_figure` draws only the two loss curves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from medlearn.explain.overlay import OKABE_ITO
from medlearn.trust.overfitting import summarise
from ui.shared.projector import style_chart

# Okabe-Ito reordered so that the first colours are the most distinct on white (yellow last).
PALETTE = tuple(f"rgb{OKABE_ITO[i]}" for i in (4, 5, 2, 0, 1, 6, 3))
# Live runs are drawn solid or dotted, stored runs dashed (the chart's caption says so). Each dash
# has its marker symbol: on a one-epoch curve (a single point) the marker is what tells runs apart.
LIVE_DASHES = ("solid", "dot")
STORED_DASHES = ("dash", "longdash", "dashdot", "longdashdot")
SYMBOLS = dict(zip(LIVE_DASHES + STORED_DASHES, ("circle", "diamond", "square", "triangle-up", "x", "star")))
VARIANT_SEP = " · "  # ui.train.jobs.variant_label: "resnet18 · ImageNet start"
METRIC_TITLES = {"accuracy": "accuracy", "auc": "ROC AUC", "kappa": "quadratic-weighted kappa",
                 "dice": "Dice", "iou": "IoU (Jaccard)", "hd95": "HD95 (mm, lower is better)",
                 "val_loss": "validation loss", "cpm": "CPM (mean FROC sensitivity)",
                 "sensitivity_1fp": "sensitivity at 1 FP per image"}
# Scores bounded to [0, 1] get a fixed axis, so one early point does not look like a trend.
UNIT_SCORES = frozenset({"accuracy", "auc", "dice", "iou", "cpm", "sensitivity_1fp"})
# How the loss axis is drawn: linear from zero, logarithmic, or cut at a high percentile so
# that one spike (an early batch) does not flatten every other curve.
LOSS_SCALES = ("linear", "log", "clip spikes")
CLIP_PERCENTILE = 95


@dataclass
class Series:
    """One curve pair: a run's training loss and its validation metric.

    Attributes:
        label: legend text (``"resnet18"`` or ``"resnet18 · run 12"``).
        colour: a plotly colour string.
        batches: ``(x, loss)`` per streamed batch (may be empty: stored runs have epochs only).
        epochs: per-epoch metric dicts with ``epoch`` and the metric keys.
        dashed: prefer a dashed line (runs from the store); :func:`line_styles` has the last word.
    """

    label: str
    colour: str
    batches: list[tuple[float, float]] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    dashed: bool = False


@dataclass(frozen=True)
class LineStyle:
    """How one run is drawn: plotly colour, line dash and marker symbol."""

    colour: str
    dash: str
    symbol: str


def colour_for(name: str, names: list[str]) -> str:
    """A palette colour for ``name`` by its place in ``names`` (e.g. all compatible models): the
    run's colour group (:func:`line_styles` picks the colour drawn).

    A variant key (``"resnet18 · ImageNet start"``) takes its network's colour: the colour
    names the architecture, and :func:`line_styles` gives the variant its own dash."""
    arch = name.split(VARIANT_SEP)[0]
    key = arch if arch in names else name
    index = names.index(key) if key in names else len(names)
    return PALETTE[index % len(PALETTE)]


def line_styles(series: list[Series]) -> list[LineStyle]:
    """One style per series, no two alike in colour + dash.

    The series' colours are groups: the n-th distinct one is drawn in ``PALETTE[n]``. Each
    series keeps its group's colour and its first dash (solid live, dashed stored) when
    free; a run that would look like an earlier one takes the next free dash of its kind in
    the same colour, then (past two live or four stored runs of one colour) the next palette
    colour. Past every pair the palette offers, styles repeat.
    """
    groups = list(dict.fromkeys(s.colour for s in series))
    colour_of = {group: PALETTE[i % len(PALETTE)] for i, group in enumerate(groups)}
    used: set[tuple[str, str]] = set()
    styles = []
    for s in series:
        dashes = STORED_DASHES if s.dashed else LIVE_DASHES
        first = colour_of[s.colour]
        colours = [first] + [c for c in PALETTE if c != first]
        options = [(c, d) for c in colours for d in dashes]
        colour, dash = next((o for o in options if o not in used), options[0])
        used.add((colour, dash))
        styles.append(LineStyle(colour, dash, SYMBOLS[dash]))
    return styles


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not math.isnan(float(value)) else None


def race_figure(series: list[Series], metric: str, height: int = 380, large: bool = False,
                loss_scale: str = "linear", val_loss: bool = False, patience: int | None = None) -> go.Figure:
    """Both panels for ``series``; ``metric`` is a key of the epoch dicts (``"accuracy"``...);
    ``large``: projector-sized text (instructor mode); ``loss_scale``: one of :data:`LOSS_SCALES`;
    ``val_loss``: also draw validation loss on the loss panel; ``patience``: mark the best
    validation-loss epoch and the early stop (see the module doc).

    The epoch axes end at the last epoch drawn (at least 1), not where plotly pads them to."""
    title = METRIC_TITLES.get(metric, metric)
    left = ("Training loss (thin) and validation loss (thick, open markers)" if val_loss
            else "Training loss (each batch; markers = epoch mean)")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=(left, f"Validation {title} (each epoch)"))
    for s, style in zip(series, line_styles(series)):
        group = dict(legendgroup=s.label, line=dict(color=style.colour, dash=style.dash),
                     marker=dict(color=style.colour, symbol=style.symbol, size=8))
        if s.batches:
            fig.add_trace(go.Scatter(x=[x for x, _ in s.batches], y=[y for _, y in s.batches], mode="lines",
                                     name=s.label, showlegend=True, **group), row=1, col=1)
        loss = [(e["epoch"], _number(e.get("train_loss"))) for e in s.epochs]
        loss = [(x, y) for x, y in loss if y is not None]
        if loss:
            fig.add_trace(go.Scatter(x=[x for x, _ in loss], y=[y for _, y in loss],
                                     mode="markers" if s.batches else "lines+markers", name=s.label,
                                     showlegend=not s.batches, **group), row=1, col=1)
        scores = [(e["epoch"], _number(e.get(metric))) for e in s.epochs]
        scores = [(x, y) for x, y in scores if y is not None]
        if scores:
            fig.add_trace(go.Scatter(x=[x for x, _ in scores], y=[y for _, y in scores], mode="lines+markers",
                                     name=s.label, showlegend=not (s.batches or loss), **group), row=1, col=2)
        if val_loss:
            _val_loss_trace(fig, s, style, row=1, col=1)
        if patience is not None:
            on_loss = val_loss or metric == "val_loss"
            _stop_marks(fig, s, style.colour, patience, "val_loss" if on_loss else metric, row=1,
                        col=1 if val_loss else 2)
    fig.update_xaxes(title_text="epoch", range=[0, last_epoch(series) * 1.03])
    losses = [y for s in series for y in loss_values(s)]
    if loss_scale == "log" and losses and min(losses) > 0:
        fig.update_yaxes(title_text="loss (log scale)", type="log", row=1, col=1)
    elif loss_scale == "clip spikes" and losses:
        top = float(np.percentile(losses, CLIP_PERCENTILE)) * 1.15
        fig.update_yaxes(title_text=f"loss (cut at the {CLIP_PERCENTILE}th percentile)", range=[0, top], row=1, col=1)
    else:
        fig.update_yaxes(title_text="loss", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text=title, row=1, col=2, range=[0, 1.02] if metric in UNIT_SCORES else None)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2),
                      uirevision="race")  # keeps the student's zoom while the curves grow
    return style_chart(fig, large=large)


def _epoch_points(s: Series, key: str) -> list[tuple[float, float]]:
    points = [(e["epoch"], _number(e.get(key))) for e in s.epochs]
    return [(x, y) for x, y in points if y is not None]


def _val_loss_trace(fig: go.Figure, s: Series, style: LineStyle, row: int | None = None, col: int | None = None,
                    name: str = "validation loss", legend: bool = False) -> None:
    """A run's validation loss per epoch: its colour, thick, open markers."""
    points = _epoch_points(s, "val_loss")
    if points:
        fig.add_trace(go.Scatter(x=[x for x, _ in points], y=[y for _, y in points], mode="lines+markers",
                                 name=f"{s.label} · {name}", legendgroup=s.label, showlegend=legend,
                                 line=dict(color=style.colour, dash=style.dash, width=3),
                                 marker=dict(color=style.colour, symbol=f"{style.symbol}-open", size=9)),
                      row=row, col=col)


def _stop_marks(fig: go.Figure, s: Series, colour: str, patience: int, key: str, row: int | None = None,
                col: int | None = None) -> None:
    """A star at the epoch of the best validation loss and a cross where early stopping with
    ``patience`` would have stopped, drawn on the run's ``key`` curve (val_loss or the metric)."""
    fit = summarise(s.epochs, patience)
    values = dict(_epoch_points(s, key))
    marks = [(fit.best_epoch, "star", "best validation loss", "best", "top center"),
             (fit.stop_epoch, "x-thin-open", f"early stop (patience {patience})", "stop", "bottom center")]
    for epoch, symbol, text, short, place in marks:
        if epoch is None or epoch not in values:
            continue
        fig.add_trace(go.Scatter(x=[epoch], y=[values[epoch]], mode="markers+text", text=[short],
                                 textposition=place, name=f"{s.label} · {text}", legendgroup=s.label,
                                 showlegend=False, textfont=dict(color=colour), cliponaxis=False,
                                 marker=dict(color=colour, symbol=symbol, size=16, line=dict(width=2, color=colour)),
                                 hovertemplate=f"{s.label}<br>{text}: epoch %{{x}}<extra></extra>"),
                      row=row, col=col)


def loss_figure(series: list[Series], patience: int | None = None, height: int = 420,
                large: bool = False) -> go.Figure:
    """Training (dotted) and validation (solid) loss per epoch of each run on one panel, one
    colour per run, with the early-stopping marks (``patience``): where the two curves part,
    the network has started to memorise its training images."""
    fig = go.Figure()
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        train = _epoch_points(s, "train_loss")
        if train:
            fig.add_trace(go.Scatter(x=[x for x, _ in train], y=[y for _, y in train], mode="lines+markers",
                                     name=f"{s.label} · training", legendgroup=s.label,
                                     line=dict(color=colour, dash="dot", width=2),
                                     marker=dict(color=colour, symbol="circle", size=7)))
        _val_loss_trace(fig, s, LineStyle(colour, "solid", "circle"), name="validation", legend=True)
        if patience is not None:
            _stop_marks(fig, s, colour, patience, "val_loss")
    fig.update_xaxes(title_text="epoch", range=[0, last_epoch(series) * 1.05])
    fig.update_yaxes(title_text="loss", rangemode="tozero")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), uirevision="overfitting",
                      legend=dict(orientation="h", y=-0.2))
    return style_chart(fig, large=large)


def last_epoch(series: list[Series]) -> float:
    """The largest epoch (or fractional batch position) any series reaches; at least 1."""
    xs = [x for s in series for x, _ in s.batches] + [float(e["epoch"]) for s in series for e in s.epochs]
    return max([1.0, *xs])


def loss_values(s: Series) -> list[float]:
    """Every training loss a series draws (per batch and per epoch), NaNs left out."""
    values = [_number(y) for _, y in s.batches] + [_number(e.get("train_loss")) for e in s.epochs]
    return [v for v in values if v is not None]


def replay_epochs(epochs: list[dict], shown: float) -> list[dict]:
    """The first ``shown`` epochs of a stored run (for "replay" in instructor mode)."""
    return [e for e in epochs if e["epoch"] <= shown]
