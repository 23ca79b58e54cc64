"""The Lesions study on the retina page (AppTest): its two extras, the exudate map with its
precision-recall figures and the grading network's maps scored against the exudates; and their
pictures and tables as plain functions."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from medlearn.cases import get_case
from medlearn.data.fov import fov_mask
from medlearn.data.phantoms import generate
from ui.explore.extras.retina_lesion_cam import figures_table, measured_cam_table, picture
from ui.explore.extras.retina_lesion_figures import measured_rows, measured_table, panels, pr_curve

from model_fixtures import make_checkpoint


def test_exudate_panels_curve_and_measured_table(tmp_path):
    ph = generate("retina_lesions", 1, seed=2, size=96, n_exudates=30)[0]
    fov = fov_mask(ph.image.pixels)
    prob = np.where(ph.mask > 0, 0.9, 0.2).astype(np.float32)
    shown = panels(ph.image, ph.mask, prob, fov, 0.5)
    assert len(shown) == 3 and all(rgb.dtype == np.uint8 and rgb.ndim == 3 for rgb, _ in shown)
    assert "outlined" in shown[0][1] and "missed" in shown[2][1]
    assert len(panels(ph.image, None, prob, fov, 0.5)) == 3  # an upload without a mask
    recall, precision = pr_curve(ph.mask, prob, fov)
    assert recall[0] == 1.0 and precision[0] == 1.0 and recall[-1] == 1.0  # a perfect ranking
    rows = [{"kind": "segmentation", "arch": "unet", "source": "idrid", "split": "3-fold", "n_items": 15,
             "plan": {"input_size": 768, "tile": 128, "epochs": 20},
             "figures": {"aupr_pooled": {"label": "AUPR (all pixels pooled)", "value": 0.5, "ci_low": 0.4,
                                         "ci_high": 0.6, "n": 15}}},
            {"kind": "grading_cam", "figures": {}}]
    path = tmp_path / "lesion_results.json"
    path.write_text(json.dumps(rows))
    assert measured_rows(path) == rows and measured_rows(tmp_path / "missing.json") == []
    table = measured_table(get_case("retina_lesions"), rows)
    assert len(table) == 1 and table.iloc[0]["AUPR (pooled)"] == "0.500 [0.40, 0.60]" and "n 15" in table.iloc[0]["held out"]
    assert "0.89" in table.iloc[0]["published"]
    cam = {"kind": "grading_cam", "data": "idrid", "n_items": 15, "grading_source": "retinamnist",
           "grading_input_size": 32, "figures": {k: {"label": k, "value": v, "ci_low": None, "ci_high": None, "n": 15}
                                                 for k, v in (("hit", 0.27), ("hit_chance", 0.36), ("energy", 0.02),
                                                              ("energy_chance", 0.021), ("energy_ratio", 0.99))}}
    shown = measured_cam_table(rows + [cam])
    assert len(shown) == 1 and shown.iloc[0]["pointing game (chance)"] == "0.270 (n 15) (0.36)"
    assert shown.iloc[0]["peak on the optic disc"] == "—" and "32 px" in shown.iloc[0]["grading network"]


def test_cam_picture_marks_the_peak_and_the_table_reads_intervals():
    ph = generate("retina_lesions", 1, seed=2, size=96, n_exudates=30)[0]
    cam = np.zeros((96, 96), np.float32)
    cam[40:44, 40:44] = 1.0
    row = {"peak": (42, 42), "tolerance_px": 6.0}
    plain, heat = picture(ph, cam, row, px=192)
    assert plain.shape == heat.shape == (192, 192, 3) and (heat == 255).all(-1).any()  # the white peak marker
    fig = SimpleNamespace
    result = SimpleNamespace(figures=[fig(name="hit", label="pointing game", value=0.5, low=0.2, high=0.8, n=10),
                                      fig(name="energy_ratio", label="energy / chance", value=1.5, low=float("nan"),
                                          high=float("nan"), n=10)])
    table = figures_table(result)
    assert table.iloc[0]["value"] == "50.0%" and table.iloc[0]["95 % interval"] == "20.0% to 80.0%"
    assert table.iloc[1]["value"] == "1.50x" and table.iloc[1]["95 % interval"] == "—"


def test_lesions_study_page_with_its_extras(open_page, assert_clean, monkeypatch):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)  # phantoms stand in for IDRiD
    make_checkpoint("retina")  # the grading network whose maps are scored
    make_checkpoint("retina_lesions")  # an exudate segmenter
    at = open_page("retina")
    at.segmented_control(key="retina.study").set_value("retina_lesions").run()
    assert_clean(at)
    heads = [h.value.lower() for h in at.subheader]
    assert any("exudate map" in h for h in heads) and any("land on lesions" in h for h in heads), heads
    at.toggle(key="extra.retina_lesions.cam.on").set_value(True).run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    labels = [m.label for m in at.metric]
    assert "Pointing game" in labels and "Energy in lesions" in labels
    at.button(key="extra.retina_lesions.cam.run").click().run()
    assert_clean(at)
    tables = [d.value for d in at.dataframe]
    assert any({"figure", "value", "95 % interval", "n"} <= set(t.columns) for t in tables), [list(t.columns)
                                                                                              for t in tables]
    assert at.success or at.warning  # the verdict, in words
    at.toggle(key="extra.retina_lesions.figures.on").set_value(True).run()
    assert_clean(at)
    assert "AUPR" in [m.label for m in at.metric]
