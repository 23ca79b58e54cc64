"""Earlier-run labels and best values (``ui.train.runs_view``)."""

from __future__ import annotations

from types import SimpleNamespace

from ui.train.runs_view import best_value, run_label


def _run(run_id: int, config: dict, epochs: list[dict]) -> SimpleNamespace:
    return SimpleNamespace(id=run_id, arch="resnet18", config=config, epochs=epochs, status="done",
                           created=0.0)


def test_run_label_names_the_variant_as_the_legend_does():
    epochs = [{"epoch": 1, "accuracy": 0.5}, {"epoch": 2, "accuracy": 0.75}]
    scratch = run_label(_run(7, {}, epochs), "accuracy")
    warm = run_label(_run(8, {"init": "imagenet"}, epochs), "accuracy")
    ace = run_label(_run(9, {"enhance": "ace"}, []), "accuracy")
    assert scratch.startswith("run 7 · resnet18 · accuracy 0.750 · done")
    assert warm.startswith("run 8 · resnet18 · ImageNet start · accuracy 0.750")
    assert ace.startswith("run 9 · resnet18 · ACE images · done")


def test_best_value_is_lowest_for_losses():
    epochs = [{"epoch": 1, "val_loss": 0.9, "dice": 0.4}, {"epoch": 2, "val_loss": 0.6, "dice": float("nan")}]
    assert best_value(epochs, "val_loss") == 0.6 and best_value(epochs, "dice") == 0.4
    assert best_value(epochs, "kappa") is None


def test_results_table_has_no_none_text_and_no_time_for_a_run_that_never_trained():
    from medlearn.cases import get_case
    from ui.train.runs_view import result_row, results_frame

    case = get_case("breast")
    queued = result_row(case, "classic", "stopped", [], {"source": None}, 12.5, None, "accuracy", 3)
    done = result_row(case, "classic", "done", [{"epoch": 1, "accuracy": 0.7}], {"source": "phantoms"}, 30.0,
                      None, "accuracy", 4, busy=True)
    assert queued["training time (s)"] is None and done["training time (s)"] == 30.0
    frame = results_frame([queued, done])
    assert "None" not in frame.astype(str).to_string()
    assert list(frame["data"]) == ["—", "phantoms"] and frame["latency (ms/image)"].isna().all()
    assert frame["best accuracy"].dtype.kind == "f"
