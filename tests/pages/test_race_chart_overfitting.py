"""The race chart's overfitting view: validation loss beside training loss, early stopping marked."""

from __future__ import annotations

from ui.train.race_chart import PALETTE, Series, loss_figure, race_figure

ROWS = [{"epoch": i, "train_loss": 1.0 / i, "val_loss": 0.5 + abs(i - 3) * 0.1, "accuracy": 0.5}
        for i in range(1, 9)]  # validation best at epoch 3, worse after


def test_loss_figure_draws_training_and_validation_per_run_with_the_marks():
    fig = loss_figure([Series("small", PALETTE[0], [], ROWS), Series("full", PALETTE[1], [], ROWS[:2])], patience=2)
    names = [t.name for t in fig.data]
    assert names[:4] == ["small · training", "small · validation", "small · best validation loss",
                         "small · early stop (patience 2)"]
    assert names[4:] == ["full · training", "full · validation", "full · best validation loss"]  # no stop yet
    marks = {t.name: (t.x[0], t.y[0]) for t in fig.data if t.mode == "markers+text"}
    assert marks == {"small · best validation loss": (3, 0.5), "small · early stop (patience 2)": (5, 0.7),
                     "full · best validation loss": (2, 0.6)}
    small, full = fig.data[0].line.color, fig.data[4].line.color
    assert small != full and fig.data[0].line.dash == "dot" and fig.data[1].line.dash == "solid"
    assert not [t for t in loss_figure([Series("x", PALETTE[0], [], ROWS)]).data if t.mode == "markers+text"]


def test_race_figure_can_add_validation_loss_and_marks_without_changing_its_defaults():
    series = [Series("resnet18 · run 1", PALETTE[0], [(0.5, 1.2), (1.0, 1.0)], ROWS)]
    plain = race_figure(series, "accuracy")
    assert all("validation" not in t.name for t in plain.data)
    fig = race_figure(series, "accuracy", val_loss=True, patience=2)
    val = next(t for t in fig.data if t.name == "resnet18 · run 1 · validation loss")
    assert val.xaxis == "x" and val.line.width == 3 and val.marker.symbol.endswith("-open")
    assert {t.name for t in fig.data if t.mode == "markers+text"} == {
        "resnet18 · run 1 · best validation loss", "resnet18 · run 1 · early stop (patience 2)"}
    on_metric = race_figure(series, "val_loss", patience=2)  # marks on the right panel's validation loss
    assert {t.xaxis for t in on_metric.data if t.mode == "markers+text"} == {"x2"}
