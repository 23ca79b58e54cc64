"""The Trust section's "Explanations under test" lesson on a case page (AppTest), with
fresh-weight checkpoints: both tests behind their buttons, drawn without an error, kept for
the next rerun; a classifier (2D image) and a segmenter (a volume seen by a 2D network)."""

from __future__ import annotations

import pytest
from model_fixtures import make_checkpoint

LESSON = "Explanations under test"


def lesson_page(open_page, key: str):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value("Trust").run()
    at.segmented_control(key=f"trust.{key}.lesson").set_value(LESSON).run()
    return at


def captions(at) -> list[str]:
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


@pytest.mark.parametrize("key, arch", [("breast", "alexnet"), ("hippocampus", "fcn")])
def test_the_lesson_runs_both_tests(key, arch, open_page, assert_clean):
    make_checkpoint(key, arch)
    at = lesson_page(open_page, key)
    assert_clean(at)
    lesson = f"trust.{key}.explanations_view"
    assert not at.get("plotly_chart")  # nothing heavy before a button is pressed
    at.button(key=f"{lesson}.sanity.run").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    shown = captions(at)
    assert shown[0] == "Trained model" and any(c.startswith("All ") and " random · ρ " in c for c in shown)
    assert len(shown) == 6  # trained + five randomisation stages
    assert (at.success or at.warning or at.error), "no verdict in words"
    at.button(key=f"{lesson}.faith.run").click().run()
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert "ROAD score, Grad-CAM" in labels and "ROAD score, random maps" in labels
    assert any(c.startswith("Occlusion") for c in captions(at))
    assert len(at.get("plotly_chart")) == 2
    at.run()  # a rerun with the same image, model and method: both results kept, no button
    assert len(at.get("plotly_chart")) == 2 and not [b for b in at.button if b.key.startswith(lesson)]
    assert len(captions(at)) == 8
    at.slider(key=f"{lesson}.difficulty").set_value(0.7).run()  # another image: the results are not reused
    assert_clean(at)
    assert not at.get("plotly_chart") and at.button(key=f"{lesson}.sanity.run")


def test_no_method_asks_for_one(open_page, assert_clean):
    make_checkpoint("breast", "alexnet")
    at = lesson_page(open_page, "breast")
    at.selectbox(key="trust.breast.explanations_view.method").set_value("none").run()
    assert_clean(at)
    assert any("Choose an explanation method" in i.value for i in at.info)
