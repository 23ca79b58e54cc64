"""Browser-review fixes (issue #5): readable tables, slices counted from 1, a class filter, one viewer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from medlearn.data.phantoms import generate, param_specs
from ui.train.architectures import comparison_view, format_count, layer_table_view, short_reference
from ui.explore.browser import filter_indices
from ui.explore.phantom_lab import class_seeds, one_based, params_table

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_counts_have_separators_and_missing_values_a_dash():
    assert format_count(1234567) == "1,234,567"
    assert format_count(None) == "—" and format_count(float("nan")) == "—"
    layers = pd.DataFrame({"layer": ["conv1", "fc"], "parameters": [9408, 513000]})
    assert list(layer_table_view(layers)["parameters"]) == ["9,408", "513,000"]


def test_comparison_table_shows_no_none_and_short_references():
    rows = [{"model": "AlexNet", "name": "alexnet", "parameters": 12962629, "default for this case": True,
             "reference": "Krizhevsky A, Sutskever I, Hinton GE. ImageNet classification. NeurIPS 2012.",
             "trained runs": 1, "best accuracy": 0.8123},
            {"model": "Classical", "name": "classic", "parameters": None, "default for this case": False,
             "reference": "Lambin P, et al. Radiomics. Eur J Cancer 2012;48(4):441-446.",
             "trained runs": 0, "best accuracy": None}]
    table = comparison_view(rows)
    assert "name" not in table.columns
    cells = table.astype(str).to_numpy().ravel().tolist()
    assert not any(cell in ("None", "nan") for cell in cells), cells
    assert list(table["parameters"]) == ["12,962,629", "—"]
    assert list(table["best accuracy"]) == ["0.812", "—"]
    assert list(table["reference"]) == ["Krizhevsky et al. 2012", "Lambin et al. 2012"]
    assert short_reference("Simonyan K, Zisserman A. Very deep networks. ICLR 2015.") == "Simonyan and Zisserman 2015"


def test_index_parameters_count_from_one():
    spec = next(s for s in param_specs("heart") if s.name == "slice_index")
    label, shift = one_based(spec)
    assert shift == 1 and "0 =" not in label
    assert one_based(next(s for s in param_specs("heart") if s.name == "edv_ml"))[1] == 0
    table = params_table({"slice_index": 0, "variant": "normal"}).set_index("parameter")
    assert table.loc["Slice (from 1)", "value"] == "1"


def test_filter_keeps_positions_of_the_wanted_class():
    samples = [type("S", (), {"label": label})() for label in (0, 1, 0, 1, 1)]
    assert filter_indices(samples, None) == [0, 1, 2, 3, 4]
    assert filter_indices(samples, 1) == [1, 3, 4]
    assert filter_indices(samples, 2) == []


def test_class_seeds_are_the_first_seeds_of_that_class():
    seeds = class_seeds("breast", 0, 0.5, (), 1, 3, scan=40)
    labels = [generate("breast", seed=s)[0].label for s in range(seeds[-1] + 1)]
    assert seeds == [s for s, label in enumerate(labels) if label == 1][:3]
    assert class_seeds("breast", 0, 0.5, (("finding", "cyst"),), 1, 2, scan=10) == []  # a cyst is benign


def _open(page: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update(params)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> list[str]:
    return [img.caption for e in at.get("image") for img in e.proto.imgs] + [c.value for c in at.caption]


def test_lung_class_filter_shows_a_malignant_phantom_and_keeps_the_link():
    at = _open("lung")
    assert at.selectbox(key="browser.lung.class").value == "All"
    at.selectbox(key="browser.lung.class").set_value("malignant").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Ground-truth class: **malignant**" in m.value for m in at.markdown)
    assert at.query_params["class"] == ["malignant"] or at.query_params["class"] == "malignant"
    strip = [img.caption for e in at.get("image") for img in e.proto.imgs if img.caption in ("benign", "malignant")]
    assert strip and set(strip) == {"malignant"}
    at = _open("lung", **{"class": "malignant", "seed": "3"})
    assert at.selectbox(key="browser.lung.class").value == "malignant"
    assert any("Ground-truth class: **malignant**" in m.value for m in at.markdown)


def test_slice_sliders_and_captions_count_from_one():
    at = _open("lung")
    axial = at.slider(key="lab.lung.view.axial")
    assert (axial.min, axial.value) == (1, 17) and any(c.startswith("axial 17/32") for c in _captions(at))
    axial.set_value(1).run()
    assert any(c.startswith("axial 1/32") for c in _captions(at))


def test_cine_phase_slider_matches_its_caption():
    at = _open("heart")
    phase = at.slider(key="cine.phase")
    assert phase.min == 1 and any(c.startswith(f"Phase {phase.value}/") for c in _captions(at))
    phase.set_value(5).run()
    assert not at.exception
    assert any(c.startswith("Phase 5/") for c in _captions(at))


def test_hippocampus_volume_measures_the_browsers_phantom_without_a_second_viewer():
    at = _open("hippocampus")
    keys = [s.key for s in at.slider if s.key]
    assert not any(k.startswith("extra.hippocampus.volume.view") for k in keys), keys
    first = next(d.value for d in at.dataframe if "truth (mm³)" in d.value.columns)  # the volume table
    at.number_input(key="lab.hippocampus.seed").set_value(4).run()
    assert not at.exception
    assert any("seed 4" in c for c in _captions(at))
    after = next(d.value for d in at.dataframe if "truth (mm³)" in d.value.columns)
    assert not after.equals(first), "the volume table did not follow the browser"


def test_loaded_samples_are_filtered_by_class_and_keep_their_index():
    at = _open("retina")
    at.selectbox(key="browser.retina.source").set_value("skimage_samples").run()
    opened = at.selectbox(key="browser.retina.skimage_samples.open")
    assert len(opened.options) == 2  # skimage's retina (No DR) and an unlabelled microaneurysm picture
    opened.set_value(1).run()
    at.selectbox(key="browser.retina.class").set_value("No DR").run()
    assert not at.exception, [e.value for e in at.exception]
    opened = at.selectbox(key="browser.retina.skimage_samples.open")
    assert len(opened.options) == 1 and opened.value == 0 and "No DR" in opened.options[0]
    at.selectbox(key="browser.retina.class").set_value("Mild NPDR").run()
    assert not at.exception and any("None of the 2 loaded samples" in i.value for i in at.info)
