"""Case extras: ACE/CLAHE, CT windows, lesion painting, EF from masks, stains, hippocampal volume."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.cases import get_case
from medlearn.data.phantoms import generate
from ui.explore.extras.breast_ace import enhanced_views, histogram_figure
from ui.explore.extras.gastric_stain import stain_contrast
from ui.explore.extras.heart_ef import agreement_figure, ef_rows
from ui.explore.extras.hippocampus_volume import volume_table
from ui.explore.extras.retina_canvas import paint_lesions

from model_fixtures import make_checkpoint


def test_ace_and_clahe_views_and_histograms():
    image = generate("breast", seed=0)[0].image
    soft, strong = enhanced_views(image, 15, 0.5, 2.0, 0.01), enhanced_views(image, 15, 3.0, 6.0, 0.05)
    assert set(soft) == {"original", "ACE", "CLAHE"} and all(v.shape == (128, 128) for v in soft.values())
    assert all(0 <= v.min() and v.max() <= 1 for v in soft.values())
    assert strong["ACE"].std() > soft["ACE"].std()  # more gain, more local contrast
    assert len(histogram_figure(soft).data) == 3


def test_paint_lesions_blends_only_where_painted():
    fundus = np.full((8, 8, 3), 100, np.uint8)
    drawing = np.zeros((16, 16, 4), np.uint8)
    drawing[:8, :8] = (200, 0, 0, 255)  # the top-left quarter, fully opaque red
    out = paint_lesions(fundus, drawing)
    assert tuple(out[1, 1]) == (200, 0, 0) and tuple(out[6, 6]) == (100, 100, 100)
    assert np.array_equal(paint_lesions(fundus, None), fundus)


def test_stain_contrast_inside_and_outside():
    density = np.zeros((4, 4), np.float32)
    density[:2] = 0.8
    region = np.zeros((4, 4), bool)
    region[:2] = True
    assert stain_contrast(density, region) == (pytest.approx(0.8), pytest.approx(0.0))
    assert stain_contrast(density, np.zeros((4, 4), bool))[0] is None


def test_volume_table_compares_model_with_truth():
    truth = np.zeros((4, 4, 4), np.uint8)
    truth[0], truth[1] = 1, 2  # 16 voxels of each label
    model = truth.copy()
    model[2, :2] = 1  # 8 extra voxels of label 1
    names = get_case("hippocampus").task.class_names
    table = volume_table(truth, model, (1.0, 1.0, 2.0), names).set_index("structure")
    assert table.loc["total", "truth (mm³)"] == 64 and table.loc["total", "model (mm³)"] == 80
    assert table.loc["anterior (head)", "error (%)"] == 50.0
    assert "model (mm³)" not in volume_table(truth, None, (1.0, 1.0, 1.0), names)


def test_ef_rows_from_a_model_and_agreement_plot():
    from medlearn.predict import Predictor

    path = make_checkpoint("heart")
    table = ef_rows(Predictor(), path, (0, 1), {"n_slices": 4, "n_phases": 4, "size": 48})
    assert len(table) == 2 and table["EF true"].between(5, 90).all()
    fig = agreement_figure(table)
    assert len(fig.data) == 3


@pytest.mark.parametrize("key", ["retina", "heart", "hippocampus"])
def test_extras_that_use_a_trained_model(key, open_page, assert_clean):
    make_checkpoint(key)
    at = open_page(key)
    if key == "heart":
        at.slider(key="extra.heart.ef.n").set_value(2).run()
        at.toggle(key="extra.heart.ef.on").set_value(True).run()
    elif key == "retina":
        at.toggle(key="extra.retina.paint.on").set_value(True).run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    if key == "heart":
        assert {"EF true", "EF model"} <= set(at.dataframe[-1].value.columns)
    elif key == "hippocampus":
        assert any("model (mm³)" in d.value.columns for d in at.dataframe)  # the volume table (the race's is another)
    else:
        assert any("Grad-CAM heat map" in img.caption for e in at.get("image") for img in e.proto.imgs)


def test_ct_window_and_ace_sliders_rerun_cleanly(open_page, assert_clean):
    at = open_page("lung")
    assert_clean(at)
    captions = [img.caption for e in at.get("image") for img in e.proto.imgs]
    assert sum(" window (W" in c for c in captions) == 3  # lung, mediastinum and bone side by side
    assert any(m.label == "Volume" and m.value.endswith("mm³") for m in at.metric)
    volume = next(m.value for m in at.metric if m.label == "Volume")
    at.number_input(key="lab.lung.seed").set_value(3).run()  # the extra follows the browser's phantom
    assert_clean(at)
    assert next(m.value for m in at.metric if m.label == "Volume") != volume
    at = open_page("breast")
    at.slider(key="extra.breast.ace.alpha").set_value(2.5).run()
    assert_clean(at)
    assert any("α = 2.5" in img.caption for e in at.get("image") for img in e.proto.imgs)


def test_stain_panel_separates_the_tile_open_in_the_browser(open_page, assert_clean):
    """The stain extra uses the image shown above it (no seed of its own), like the ACE panel."""
    at = open_page("gastric")
    assert_clean(at)
    assert not [n for n in at.number_input if n.key == "extra.gastric.stain.seed"]
    labels = [m.label for m in at.metric]
    assert "Haematoxylin density inside the tumour" in labels and "Haematoxylin density outside" in labels
    seed = at.number_input(key="lab.gastric.seed")
    before = [m.value for m in at.metric if m.label == "Haematoxylin density inside the tumour"]
    seed.set_value(seed.value + 7).run()
    after = [m.value for m in at.metric if m.label == "Haematoxylin density inside the tumour"]
    assert after != before  # another phantom above: another tile below
