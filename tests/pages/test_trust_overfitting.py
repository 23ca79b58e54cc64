"""The Trust section's Overfitting lesson (AppTest): the race it asks for, and a tiny real race
drawn with its training and validation loss, picked up again by a new session."""

from __future__ import annotations

import time

import pytest

from medlearn.train.recipes import train_recipe

LESSON = "trust.breast.overfitting_view"
TINY = dict(n_train=8, n_val=6, input_size=32, batch_size=4, epochs=1, width=4)

pytestmark = pytest.mark.usefixtures("close_jobs")


def overfitting_lesson(open_page, key: str = "breast"):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value("Trust").run()
    at.segmented_control(key=f"trust.{key}.lesson").set_value("Overfitting").run()
    return at


def test_start_asks_for_the_models_architecture_on_its_data_small_noisy_vs_full(open_page, assert_clean,
                                                                               monkeypatch):
    import ui.train.jobs

    asked = []
    monkeypatch.setattr(ui.train.jobs, "start_race", lambda case, archs, source, variants, **choices:
                        asked.append((case.key, archs, source, variants, choices)) or [])
    run = train_recipe("breast", "alexnet", **TINY)
    noisy = train_recipe("breast", "alexnet", train_fraction=0.5, label_noise=0.3, **TINY)
    at = overfitting_lesson(open_page)
    assert_clean(at)  # no race on this server yet: the newest stored pair is shown
    table = next(d.value for d in at.dataframe if "best validation epoch" in d.value.columns)
    assert list(table["run"]) == [f"alexnet · 50% of training data · 30% labels flipped · run {noisy.id}",
                                  f"alexnet · run {run.id}"]
    assert at.select_slider(key=f"{LESSON}.train_fraction").value == 0.1
    assert at.select_slider(key=f"{LESSON}.label_noise").value == 0.3
    assert "learn its training images by heart" in " ".join(m.value for m in at.markdown)
    at.number_input(key=f"{LESSON}.epochs").set_value(4)
    at.button(key=f"{LESSON}.start").click().run()
    assert_clean(at)
    ((case, archs, source, variants, choices),) = asked
    assert (case, archs, source) == ("breast", ["alexnet"], "phantoms")
    assert variants == {"alexnet": [{"train_fraction": 1.0, "label_noise": 0.0}]}  # the twin: all data, true labels
    assert choices["train_fraction"] == 0.1 and choices["label_noise"] == 0.3 and choices["epochs"] == 4
    sizes = {k: choices[k] for k in ("n_train", "n_val", "input_size", "batch_size", "width")}
    assert sizes == {k: run.config[k] for k in sizes}  # the model's own run's sizes
    at.select_slider(key=f"{LESSON}.train_fraction").set_value(1.0)
    at.select_slider(key=f"{LESSON}.label_noise").set_value(0.0).run()
    assert at.button(key=f"{LESSON}.start").disabled  # nothing to compare against


def test_a_tiny_race_draws_both_losses_and_a_new_session_picks_it_up(open_page, assert_clean):
    from ui.train.jobs import manager

    train_recipe("breast", "alexnet", **TINY)
    at = overfitting_lesson(open_page)
    at.select_slider(key=f"{LESSON}.train_fraction").set_value(0.5)
    at.number_input(key=f"{LESSON}.epochs").set_value(2)
    at.button(key=f"{LESSON}.start").click().run()
    assert_clean(at)
    ids = at.session_state[f"{LESSON}.jobs"]
    assert len(ids) == 2
    deadline = time.monotonic() + 240  # an upper bound on a slow machine, not a timing target
    while any(manager().status(i) not in ("done", "failed", "stopped") for i in ids):
        assert time.monotonic() < deadline, [manager().status(i) for i in ids]
        time.sleep(1.0)
    assert [manager().status(i) for i in ids] == ["done", "done"], [manager().job(i).error for i in ids]
    again = overfitting_lesson(open_page)  # another session: no job ids of its own
    for page in (at.run(), again):
        assert_clean(page)
        table = next(d.value for d in page.dataframe if "best validation epoch" in d.value.columns)
        assert list(table["epochs"]) == [2, 2]
        assert table["run"].iloc[0].startswith("alexnet · 50% of training data · 30% labels flipped · run")
        assert table["run"].iloc[1] == f"alexnet · run {ids[1]}"
        assert table["final validation loss"].notna().all() and table["final training loss"].notna().all()
        chart = page.get("plotly_chart")[0].proto.spec
        assert "validation" in chart and "training" in chart
