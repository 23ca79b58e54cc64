"""Race chart styles: colour names the architecture, and no two runs look alike (colour + dash)."""

from __future__ import annotations

import pytest

from ui.train.race_chart import (LIVE_DASHES, LOSS_SCALES, PALETTE, STORED_DASHES, SYMBOLS, Series, colour_for,
                           line_styles, race_figure)

# the retina list: seven networks, as many as the palette has colours
NAMES = ["alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet34", "classic"]


def _series(label: str, key: str, names: list[str] = NAMES, stored: bool = False) -> Series:
    epochs = [{"epoch": 1, "train_loss": 0.9, "accuracy": 0.6}]
    batches = [] if stored else [(0.5, 1.0), (1.0, 0.8)]
    return Series(label, colour_for(key, names), batches, epochs, dashed=stored)


def test_variant_keeps_its_networks_colour_even_past_the_palette():
    names = NAMES + ["resnet18 · ImageNet start", "alexnet · ACE images"]  # as the train panel appends them
    assert colour_for("resnet18 · ImageNet start", names) == colour_for("resnet18", names) == PALETTE[4]
    assert colour_for("alexnet · ACE images", names) == PALETTE[0]
    assert colour_for("alexnet", names) != colour_for("vgg11", names)


def test_runs_of_one_architecture_get_distinct_dashes_live_and_stored():
    series = [_series("resnet18 · run 1", "resnet18"),
              _series("resnet18 · ImageNet start · run 2", "resnet18 · ImageNet start"),
              _series("alexnet · run 3", "alexnet"),
              _series("resnet18 · run 0 (stored)", "resnet18", stored=True),
              _series("resnet18 · ImageNet start · run 7 (stored)", "resnet18", stored=True)]
    styles = line_styles(series)
    assert [(s.colour, s.dash) for s in styles] == [
        (PALETTE[0], "solid"), (PALETTE[0], "dot"), (PALETTE[1], "solid"),
        (PALETTE[0], "dash"), (PALETTE[0], "longdash")]
    assert len({s.symbol for s in styles if s.colour == PALETTE[0]}) == 4  # one-point curves differ too


def test_architectures_on_a_chart_get_the_most_distinct_colours_first():
    # alexnet and resnet18 sit 0 and 4 in the retina list (blue and sky blue): drawn blue and vermillion
    series = [_series("resnet18 · run 1", "resnet18"), _series("alexnet · run 2", "alexnet")]
    assert [s.colour for s in line_styles(series)] == [PALETTE[0], PALETTE[1]]
    assert PALETTE[:2] == ("rgb(0, 114, 178)", "rgb(213, 94, 0)")  # Okabe-Ito blue, vermillion


def test_every_combination_is_distinct_and_live_runs_are_never_dashed():
    series = [_series(f"resnet18 · run {i}", "resnet18") for i in range(5)]
    series += [_series(f"resnet18 · run {i} (stored)", "resnet18", stored=True) for i in range(6)]
    styles = line_styles(series)
    pairs = [(s.colour, s.dash) for s in styles]
    assert len(set(pairs)) == len(pairs)
    assert all(s.dash in LIVE_DASHES for s in styles[:5]) and all(s.dash in STORED_DASHES for s in styles[5:])
    assert all(c in PALETTE for c, _ in pairs)


def test_figure_draws_each_run_in_its_style_with_its_label_in_the_legend():
    series = [_series("resnet18 · run 1", "resnet18"),
              _series("resnet18 · ImageNet start · run 2", "resnet18 · ImageNet start")]
    fig = race_figure(series, "accuracy")
    legend = {t.name: (t.line.color, t.line.dash) for t in fig.data if t.showlegend}
    assert legend == {"resnet18 · run 1": (PALETTE[0], "solid"),
                      "resnet18 · ImageNet start · run 2": (PALETTE[0], "dot")}
    for trace in fig.data:  # the loss, epoch-mean and metric traces of a run share its style
        colour, dash = legend[trace.name]
        assert (trace.line.color, trace.line.dash, trace.marker.symbol) == (colour, dash, SYMBOLS[dash])


def test_epoch_axes_end_at_the_last_epoch_drawn():
    two = [Series("alexnet · run 1", PALETTE[0], [(0.5, 1.0), (1.0, 0.8), (2.0, 0.6)],
                  [{"epoch": 1, "train_loss": 0.9, "accuracy": 0.5}, {"epoch": 2, "train_loss": 0.6, "accuracy": 0.6}])]
    fig = race_figure(two, "accuracy")
    assert fig.layout.xaxis.range[1] == pytest.approx(2 * 1.03) and fig.layout.xaxis2.range[1] == pytest.approx(2.06)
    assert race_figure([Series("queued", PALETTE[0])], "accuracy").layout.xaxis.range[1] == pytest.approx(1.03)


def test_a_loss_spike_can_be_cut_or_drawn_on_a_log_axis():
    batches = [(i / 10, 1.0 - i / 40) for i in range(1, 21)] + [(2.1, 500.0)]  # one exploding batch
    series = [Series("resnet18 · run 1", PALETTE[0], batches, [{"epoch": 1, "train_loss": 0.8}])]
    assert LOSS_SCALES == ("linear", "log", "clip spikes")
    assert race_figure(series, "accuracy").layout.yaxis.range is None  # linear: plotly fits every point
    clipped = race_figure(series, "accuracy", loss_scale="clip spikes").layout.yaxis
    assert clipped.range[0] == 0 and clipped.range[1] < 2  # the spike is off the chart, the curves fill it
    assert race_figure(series, "accuracy", loss_scale="log").layout.yaxis.type == "log"
