"""The Trust section's Shortcut-learning lesson (AppTest): one click runs a tiny experiment in the
background, then the bars, the Grad-CAM examples and the explanation; segmenters say why not."""

from __future__ import annotations

import functools

from model_fixtures import make_checkpoint

TINY = dict(n_train=16, n_test=8, epochs=1, input_size=32, width=4)


def shortcut_lesson(open_page, key: str):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value("Trust").run()
    at.segmented_control(key=f"trust.{key}.lesson").set_value("Shortcut learning").run()
    return at


def test_one_click_runs_the_experiment_and_shows_what_happened(open_page, assert_clean, monkeypatch):
    import ui.trust.shortcut_view as view
    from medlearn.trust.shortcut import ShortcutConfig

    monkeypatch.setattr(view, "ShortcutConfig", functools.partial(ShortcutConfig, **TINY))
    make_checkpoint("breast")
    lesson = "trust.breast.shortcut_view"
    at = shortcut_lesson(open_page, "breast")
    assert_clean(at)
    assert at.selectbox(key=f"{lesson}.class").value == 1  # malignant: the last class
    at.selectbox(key=f"{lesson}.cue").set_value("ruler")
    at.button(key=f"{lesson}.start").click().run()
    assert_clean(at)
    run = at.session_state[f"{lesson}.run"]
    assert run.config.cue == "ruler" and run.config.arch is None and run.config.cue_class == 1
    assert run.wait(120) and run.error is None and run.result.arch == "alexnet"  # the phantom recipe's network
    at.run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 1
    text = " ".join(m.value for m in at.markdown)
    assert "Every **malignant** training image carried a ruler" in text and "without it" in text
    assert at.metric[0].label == "Grad-CAM energy on the cue"
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert len(captions) == 3 and "without the cue" in captions[1]
    assert any("Zech et al." in c.value for c in at.caption)


def test_a_segmentation_case_says_why_the_lesson_does_not_apply(open_page, assert_clean):
    make_checkpoint("heart")
    at = shortcut_lesson(open_page, "heart")
    assert_clean(at)
    assert any("segmenter" in i.value for i in at.info)
    assert not at.button
