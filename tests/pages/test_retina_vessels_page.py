"""The Vessels study on the retina page (AppTest): picked from the study picker, its extra draws
the probability map, the field of view and the figures of a phantom for a trained model."""

from __future__ import annotations

import numpy as np

from medlearn.data.phantoms import generate
from ui.explore.extras.retina_vessels import figures_table, outcome_map, pictures

from model_fixtures import make_checkpoint


def test_outcomes_pictures_and_figures_of_one_photograph():
    from medlearn.cases import get_case
    from medlearn.data.fov import fov_mask

    ph = generate("retina_vessels", 1, seed=2, size=96)[0]
    fov = fov_mask(ph.image.pixels)
    prob = ph.mask.astype(np.float32) * 0.9  # a perfect model ...
    prob[fov & (ph.mask == 0)] = 0.3  # ... unsure of the background, sure of nothing wrong at 0.5
    assert set(np.unique(outcome_map(ph.mask, prob >= 0.5))) <= {0, 1}
    assert set(np.unique(outcome_map(ph.mask, prob >= 0.2))) >= {1, 3}  # a low threshold: false alarms
    panels = pictures(ph.image, ph.mask, prob, fov, 0.5)
    assert len(panels) == 3 and all(rgb.shape == (96, 96, 3) and rgb.dtype == np.uint8 for rgb, _ in panels)
    assert "field of view" in panels[0][1] and "missed" in panels[2][1]
    table = figures_table(get_case("retina_vessels"), ph.mask, prob, fov, 0.5).set_index("figure")
    assert table.loc["Sensitivity", "in the field of view"] == 1.0
    assert table.loc["Accuracy", "published, DRIVE (in its FOV)"].startswith("Liskowski")
    low = figures_table(get_case("retina_vessels"), ph.mask, prob, fov, 0.2).set_index("figure")
    assert low.loc["Specificity", "in the field of view"] < 0.1  # all background called
    assert low.loc["AUC", "in the field of view"] == 1.0  # the ranking did not change
    assert len(pictures(ph.image, None, prob, fov, 0.5)) == 3  # an upload without a mask


def test_vessels_study_page_with_its_extra(open_page, assert_clean, monkeypatch):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)  # phantoms: CHASE photographs take seconds to read
    make_checkpoint("retina_vessels")
    at = open_page("retina")
    at.segmented_control(key="retina.study").set_value("retina_vessels").run()
    assert_clean(at)
    assert any("vessel map" in h.value.lower() for h in at.subheader), [h.value for h in at.subheader]
    at.toggle(key="extra.retina_vessels.vessels.on").set_value(True).run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    table = at.table[-1].value
    wanted = {"figure", "in the field of view", "published, DRIVE (in its FOV)"}
    assert wanted <= set(table.columns)
    assert len(at.get("imgs")) >= 1 or at.slider(key="extra.retina_vessels.vessels.threshold").value == 0.5
