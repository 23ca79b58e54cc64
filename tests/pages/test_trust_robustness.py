"""The Trust section's Robustness lesson (AppTest, fresh-weight models): the clean and perturbed
answers side by side, the curve for the image, and the curve over validation items."""

from __future__ import annotations

import pytest

from model_fixtures import make_checkpoint


def robustness_lesson(open_page, key: str):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value("Trust").run()
    at.segmented_control(key=f"trust.{key}.lesson").set_value("Robustness").run()
    return at


def captions(at) -> str:
    images = [img.caption for element in at.get("image") for img in element.proto.imgs]
    return "\n".join([c.value for c in at.caption] + images)


@pytest.mark.parametrize("key", ["breast", "heart"])
def test_the_slider_perturbs_the_image_and_the_curve_is_drawn(key, open_page, assert_clean):
    make_checkpoint(key)
    at = robustness_lesson(open_page, key)
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    lesson = f"trust.{key}.robustness_view"
    assert at.selectbox(key=f"{lesson}.kind").value == "noise"
    assert at.slider(key=f"{lesson}.strength.noise").value == 0.0
    assert len(at.get("plotly_chart")) == 1  # the image's curve
    at.selectbox(key=f"{lesson}.kind").set_value("rotation").run()
    at.slider(key=f"{lesson}.strength.rotation").set_value(20.0).run()
    assert_clean(at)
    assert "Rotation: 20 degrees" in captions(at)
    metrics = {m.label for m in at.metric}
    assert ("Dice vs the expert mask" in metrics) if key == "heart" else ("Answer" in metrics)


def test_the_validation_curve_runs_on_the_models_own_validation_split(open_page, assert_clean):
    make_checkpoint("breast")
    at = robustness_lesson(open_page, "breast")
    lesson = "trust.breast.robustness_view"
    at.selectbox(key=f"{lesson}.kind").set_value("jpeg").run()
    at.number_input(key=f"{lesson}.n").set_value(4)
    at.button(key=f"{lesson}.run").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 2
    text = captions(at)
    assert "Accuracy over n = 4 items" in text and "validation split" in text
