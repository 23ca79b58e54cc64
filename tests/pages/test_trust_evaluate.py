"""The Trust section's Evaluate lesson on a case page (AppTest), with tiny trained models: the
held-out answers once, the threshold slider moving the rates, the calibration and the gallery
for a classifier; the Dice spread, the worst cases and the subgroups for a segmenter."""

from __future__ import annotations

from medlearn.train.recipes import train_recipe

TINY = dict(n_train=8, n_val=6, input_size=32, batch_size=4, epochs=1, width=4)


def evaluate_lesson(open_page, key: str):
    at = open_page(key)
    at.segmented_control(key=f"{key}.section").set_value("Trust").run()
    assert at.segmented_control(key=f"trust.{key}.lesson").value == "Evaluate"
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_classifier_reads_its_rates_at_any_threshold(open_page, assert_clean):
    train_recipe("breast", "alexnet", **TINY)
    at = evaluate_lesson(open_page, "breast")
    assert_clean(at)
    lesson = "trust.breast.evaluate_view"
    captions = " ".join(c.value for c in at.caption)
    assert "6 held-out items" in captions and "validation split" in captions
    assert "stored operating threshold" in captions and "ECE" in captions
    slider = at.slider(key=f"{lesson}.threshold.malignant")
    shown = metrics(at)
    assert {"AUC", "Sensitivity", "Specificity"} <= set(shown)
    slider.set_value(0.0).run()
    assert_clean(at)
    assert metrics(at)["Sensitivity"] == "100%" and metrics(at)["Specificity"] == "0%"
    at.slider(key=f"{lesson}.threshold.malignant").set_value(1.0).run()
    assert metrics(at)["Sensitivity"] == "0%" and metrics(at)["Specificity"] == "100%"
    # a rarer disease: the same rates, a lower PPV
    at.slider(key=f"{lesson}.threshold.malignant").set_value(0.0).run()
    at.slider(key=f"{lesson}.prevalence").set_value(50.0).run()
    at.slider(key=f"{lesson}.prevalence").set_value(5.0).run()
    assert metrics(at)["PPV at 5.0%"] == "5%"
    # the gallery of one confusion cell shows its items with their truth
    at.segmented_control(key=f"{lesson}.cell").set_value("true positive").run()
    assert_clean(at)
    images = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert images and all("truth malignant" in c for c in images)
    assert at.selectbox(key=f"{lesson}.subgroup").options


def test_a_segmenter_shows_its_dice_spread_and_worst_cases(open_page, assert_clean):
    train_recipe("heart", "unet", n_train=6, n_val=4, input_size=32, batch_size=2, epochs=1, width=4)
    at = evaluate_lesson(open_page, "heart")
    assert_clean(at)
    assert "Mean Dice" in metrics(at)
    images = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert len(images) == 4 and all("Dice" in c for c in images)
    lesson = "trust.heart.evaluate_view"
    box = at.selectbox(key=f"{lesson}.subgroup")
    for index in range(len(box.options)):
        at.selectbox(key=f"{lesson}.subgroup").select_index(index).run()
        assert_clean(at)
        assert any({"subgroup", "n", "mean Dice"} <= set(d.value.columns) for d in at.dataframe)
