"""The heart Predict section on an uploaded multi-phase cine: phases, ED/ES choice, EDV/ESV/SV/EF.

The model is a fresh checkpoint (as every page test's); the predictor's masks are replaced
by the exact labels of the synthetic frames (tests/cine_dicom.py), so the numbers are known.
"""

from __future__ import annotations

from cine_dicom import cine_files, expected
from model_fixtures import make_checkpoint

PREDICT = "Predict"


def _upload_cine(open_page, files):
    at = open_page("heart")
    at.segmented_control(key="heart.section").set_value(PREDICT).run()
    at.radio(key="predict.heart.input").set_value("Upload").run()
    at.file_uploader(key="predict.heart.upload.widget").set_value(
        [(name, data, "application/dicom") for name, data in files]).run()
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_cine_upload_shows_phases_choice_and_ef(exact_masks, open_page, assert_clean):
    make_checkpoint("heart")
    want = expected()
    at = _upload_cine(open_page, cine_files())
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    shown = "\n".join(t.value for t in at.text)
    assert "4 phases found at 3 slice positions" in shown
    assert "End-diastole: phase 1 (largest LV cavity volume" in shown and "End-systole: phase 3" in shown
    metrics = _metrics(at)
    assert metrics["EDV"] == f"{want['edv']:.0f} ml" and metrics["ESV"] == f"{want['esv']:.0f} ml"
    assert metrics["EF"] == f"{want['ef']:.1f} %"
    assert exact_masks.count(None) == 4  # every phase segmented once, without a heat map
    ed = at.selectbox(key="predict.heart.cine.ed")
    assert ed.options[0].startswith("automatic: phase 1") and len(ed.options) == 5
    calls = len(exact_masks)
    ed.set_value(0).run()
    at.selectbox(key="predict.heart.cine.es").set_value(2).run()
    assert_clean(at)
    c = want["cavity"]
    assert _metrics(at)["EF"] == f"{100 * (c[0] - c[2]) / c[0]:.1f} %"
    assert "chosen by the user" in "\n".join(t.value for t in at.text)
    assert len(exact_masks) == calls  # a new choice re-measures the kept masks, no model call


def test_incomplete_positions_are_left_out_and_said(exact_masks, open_page, assert_clean):
    make_checkpoint("heart")
    at = _upload_cine(open_page, cine_files(extra=((30.0, 2),)))
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    shown = "\n".join(t.value for t in at.text)
    assert "4 phases found at 3 slice positions" in shown and "30.0 mm (2 files)" in shown
    assert _metrics(at)["EF"] == f"{expected()['ef']:.1f} %"
