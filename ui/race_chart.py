"""The race chart: training loss and a validation metric of every architecture on one plotly figure.

Left panel: training loss per streamed batch (x = epochs, fractional by batch) with the
epoch means as markers; right panel: the chosen validation metric per epoch. One
Okabe-Ito colour per architecture (colour-blind safe); stored runs brought in for
comparison are dashed lines in their architecture's colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from medlearn.explain.overlay import OKABE_ITO

# Okabe-Ito reordered so that the first colours are the most distinct on white (yellow last).
PALETTE = tuple(f"rgb{OKABE_ITO[i]}" for i in (4, 5, 2, 0, 1, 6, 3))
METRIC_TITLES = {"accuracy": "accuracy", "auc": "ROC AUC", "kappa": "quadratic-weighted kappa",
                 "dice": "Dice", "iou": "IoU (Jaccard)", "hd95": "HD95 (mm, lower is better)",
                 "val_loss": "validation loss"}
# Scores bounded to [0, 1] get a fixed axis, so one early point does not look like a trend.
UNIT_SCORES = frozenset({"accuracy", "auc", "dice", "iou"})


@dataclass
class Series:
    """One curve pair: a run's training loss and its validation metric.

    Attributes:
        label: legend text (``"resnet18"`` or ``"resnet18 · run 12"``).
        colour: a plotly colour string.
        batches: ``(x, loss)`` per streamed batch (may be empty: stored runs have epochs only).
        epochs: per-epoch metric dicts with ``epoch`` and the metric keys.
        dashed: draw as a dashed line (runs from the store).
    """

    label: str
    colour: str
    batches: list[tuple[float, float]] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    dashed: bool = False


def colour_for(name: str, names: list[str]) -> str:
    """A stable palette colour for ``name`` by its place in ``names`` (e.g. all compatible models)."""
    index = names.index(name) if name in names else len(names)
    return PALETTE[index % len(PALETTE)]


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not math.isnan(float(value)) else None


def race_figure(series: list[Series], metric: str, height: int = 380, large: bool = False) -> go.Figure:
    """Both panels for ``series``; ``metric`` is a key of the epoch dicts (``"accuracy"``...);
    ``large``: projector-sized text (instructor mode)."""
    title = METRIC_TITLES.get(metric, metric)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("Training loss (each batch; dots = epoch mean)",
                                        f"Validation {title} (each epoch)"))
    for s in series:
        dash = "dash" if s.dashed else "solid"
        group = dict(legendgroup=s.label, line=dict(color=s.colour, dash=dash), marker=dict(color=s.colour))
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
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(title_text="loss", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text=title, row=1, col=2, range=[0, 1.02] if metric in UNIT_SCORES else None)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2),
                      uirevision="race", font=dict(size=18) if large else None)  # keeps the student's zoom while the curves grow
    return fig


def replay_epochs(epochs: list[dict], shown: float) -> list[dict]:
    """The first ``shown`` epochs of a stored run (for "replay" in instructor mode)."""
    return [e for e in epochs if e["epoch"] <= shown]
