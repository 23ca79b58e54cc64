"""AppTest smoke tests: every page runs through the router and shows its key elements."""

from __future__ import annotations

import pytest

from medlearn.cases import list_cases

from fresh_process import run_app_script

CASES = [c.key for c in list_cases()]


def test_home_lists_every_case_and_describes_a_model(open_page, assert_clean):
    at = open_page("home")
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown)
    for case in list_cases():
        assert case.title in text
    assert not at.dataframe, "the gallery must wait until it is switched on"
    at.toggle(key="home.gallery.on").set_value(True).run()
    assert_clean(at)
    assert at.selectbox(key="home.gallery.model").value
    assert at.metric and int(at.metric[0].value.replace(",", "")) > 0  # measured parameter count
    assert at.dataframe, "no layer table"


HEAVY = ("torch", "monai", "medlearn.models", "pytorch_grad_cam")
FIRST_PAINT = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({"title": [t.value for t in at.title], "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_home_first_paint_imports_no_torch(tmp_path):
    """Start-up draws Home without torch, MONAI or the model registry (a fresh interpreter)."""
    result = run_app_script(tmp_path, FIRST_PAINT, *HEAVY)
    assert result["title"] == ["MedLearn"]
    assert result["heavy"] == [], f"Home's first run imported {result['heavy']}"


@pytest.mark.parametrize("key", CASES)
def test_case_page_shows_source_select_and_an_image(key, open_page, assert_clean):
    at = open_page(key)
    assert_clean(at)
    assert at.selectbox(key=f"browser.{key}.source").value == "phantoms"
    assert len(at.get("image")) >= 1, "no image rendered"
    assert any("Ground truth" in t.label or "ground truth" in t.label for t in at.toggle)


def test_phantom_lab_regenerates_and_viewer_controls_work(open_page, assert_clean):
    at = open_page("lung")
    first = at.get("image")[0].value
    at.number_input(key="lab.lung.seed").set_value(7).run()
    assert_clean(at)
    at.slider(key="lab.lung.view.axial").set_value(3).run()
    at.radio(key="lab.lung.view.style").set_value("Outline").run()
    at.selectbox(key="lab.lung.view.preset").set_value("Mediastinum").run()
    assert_clean(at)
    assert at.slider(key="lab.lung.view.width").value == pytest.approx(350.0)
    assert at.get("image")[0].value != first or len(at.get("image")) > 1


def test_fixed_phantom_parameter_is_used(open_page, assert_clean):
    at = open_page("lung")
    at.checkbox(key="lab.lung.diameter_mm.random").uncheck().run()
    at.slider(key="lab.lung.diameter_mm").set_value(20.0).run()
    assert_clean(at)
    assert any("20" in m.value for m in at.metric), [m.value for m in at.metric]


def test_heart_page_shows_the_cine_with_ejection_fraction(open_page, assert_clean):
    at = open_page("heart")
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert {"EDV", "ESV", "EF"} <= set(labels)
    at.slider(key="cine.phase").set_value(5).run()
    assert_clean(at)


def test_race_page_compares_real_models(open_page, assert_clean):
    at = open_page("race")
    assert_clean(at)
    at.selectbox(key="race.case").set_value("heart").run()
    assert_clean(at)
    assert at.multiselect(key="race.heart.chosen").value, "no default architectures chosen"
    assert at.dataframe


@pytest.mark.mirror
def test_browser_loads_a_real_dataset_from_the_mirror(mirror, monkeypatch, open_page, assert_clean):
    monkeypatch.setenv("MEDLEARN_MIRROR", str(mirror))
    at = open_page("breast")
    at.selectbox(key="browser.breast.source").set_value("busi").run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("image")) >= 12  # the thumbnail grid plus the opened sample
    at.selectbox(key="browser.breast.busi.open").set_value(1).run()
    assert_clean(at)


def test_case_page_shows_the_measured_real_figures_beside_the_published(open_page, assert_clean):
    from medlearn.results import figure_text, measured

    at = open_page("breast")
    assert_clean(at)
    assert any("Measured by MedLearn on real data" in m.value for m in at.markdown)
    shown = next(t.value for t in at.table if "held out" in t.value.columns)
    rows = measured("breast")
    assert len(shown) == len(rows) > 0  # the figures of docs/RESULTS.md, from one file
    assert figure_text(next(iter(rows[0]["figures"].values()))) in shown.iloc[0]["figures (95 % interval, n)"]
