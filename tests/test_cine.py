"""cardiac_function: every phase segmented, ED/ES from the volume curve (or the user), EDV/ESV/SV/EF/mass."""

import json

import numpy as np
import pytest

from cine_dicom import GAP_MM, SIDES, TRIGGERS, cine_files, expected, threshold_segment, write
from medlearn.cine import ModelSegmenter, cardiac_function, function_from_masks, segment_phases
from medlearn.data.image import MedImage
from medlearn.data.io.cine import read_cine
from medlearn.errors import MedlearnInputError


@pytest.fixture
def cine(tmp_path):
    write(tmp_path / "cine", cine_files())
    return read_cine(tmp_path / "cine")


def test_volumes_ef_and_phases_match_the_analytic_cine(cine):
    want = expected()
    assert (want["ed"], want["es"]) == (1, 3)  # the fullest phase is not the first one
    r = cardiac_function(cine, threshold_segment)
    assert (r.ed_phase, r.es_phase) == (1, 3)
    assert r.cavity_volumes_ml == pytest.approx(want["cavity"])
    assert r.myocardium_volumes_ml == pytest.approx(want["myo"])
    assert r.edv_ml == pytest.approx(want["edv"]) and r.esv_ml == pytest.approx(want["esv"])
    assert r.stroke_volume_ml == pytest.approx(want["sv"]) and r.ef_percent == pytest.approx(want["ef"])
    assert r.myocardial_mass_g == pytest.approx(want["mass"])
    assert r.edv_ml == pytest.approx((16 ** 2 + 14 ** 2 + 12 ** 2) * 1.5 * 1.5 * 10 / 1000)  # 13.14 ml
    assert r.ed_reason.startswith("largest LV cavity volume") and r.ed_reason.endswith(f"at {TRIGGERS[1]:.0f} ms")
    assert r.es_reason.startswith("smallest LV cavity volume") and r.trigger_times_ms == TRIGGERS
    assert len(r.masks) == 4 and r.masks[1].shape == (3, 40, 40)


def test_slice_spacing_comes_from_positions_not_slice_thickness(cine):
    r = cardiac_function(cine, threshold_segment)
    assert r.spacing_mm[0] == pytest.approx(GAP_MM)  # SliceThickness is 8 mm in these files
    assert any("SliceThickness is 8.00 mm but the slices are 10.00 mm apart (gaps between the slices)" in n
               for n in r.notes), r.notes
    assert any("the distance between slice positions" in n for n in r.notes)
    same = read_cine(cine_files(thickness=GAP_MM))
    assert not any("SliceThickness" in n for n in cardiac_function(same, threshold_segment).notes)


def test_the_user_picks_the_phases(cine):
    want = expected()
    r = cardiac_function(cine, threshold_segment, ed=0, es=2)
    assert (r.ed_phase, r.es_phase) == (0, 2)
    assert r.ed_reason.startswith("chosen by the user") and r.es_reason.startswith("chosen by the user")
    assert r.edv_ml == pytest.approx(want["cavity"][0]) and r.esv_ml == pytest.approx(want["cavity"][2])
    assert r.ef_percent == pytest.approx(100 * (want["cavity"][0] - want["cavity"][2]) / want["cavity"][0])
    only_es = cardiac_function(cine, threshold_segment, es=2)
    assert only_es.ed_phase == 1 and only_es.ed_reason.startswith("largest")
    assert only_es.es_reason.startswith("chosen by the user")


def test_changing_phases_reuses_the_masks(cine):
    calls = []

    def counting(image):
        calls.append(image.meta["phase_index"])
        return threshold_segment(image)

    masks = segment_phases(cine, counting)
    assert calls == [0, 1, 2, 3]
    again = function_from_masks(cine, masks, ed=2, es=3)
    assert calls == [0, 1, 2, 3] and again.ed_phase == 2
    assert function_from_masks(cine, masks).summary() == cardiac_function(cine, threshold_segment).summary()


def test_summary_is_json_with_a_row_per_phase(cine):
    s = json.loads(json.dumps(cardiac_function(cine, threshold_segment).summary()))
    assert [row["phase"] for row in s["phases"]] == [0, 1, 2, 3]
    assert [row["trigger_time_ms"] for row in s["phases"]] == TRIGGERS
    assert s["ed_phase"] == 1 and s["es_phase"] == 3 and s["ed_trigger_time_ms"] == TRIGGERS[1]
    assert s["phases"][1]["lv_cavity_volume_ml"] == pytest.approx(s["edv_ml"])
    assert "masks" not in s and s["slice_spacing_mm"] == pytest.approx(10.0)


def test_one_phase_is_a_clear_error():
    one = read_cine(cine_files(sides=[SIDES[0]], triggers=[TRIGGERS[0]]))
    with pytest.raises(MedlearnInputError, match="EF needs at least end-diastole and end-systole"):
        cardiac_function(one, threshold_segment)


@pytest.mark.parametrize("ed, es, message", [
    (2, 2, "both phase 2"), (4, None, "no phase 4 for end-diastole: this cine has 4 phases"),
    (None, -1, "no phase -1 for end-systole"), (1.5, None, "must be a whole number"),
])
def test_bad_phase_choices(cine, ed, es, message):
    with pytest.raises(MedlearnInputError, match=message):
        cardiac_function(cine, threshold_segment, ed=ed, es=es)


def test_a_mask_of_the_wrong_shape_or_no_change(cine):
    with pytest.raises(MedlearnInputError, match="mask of phase 0 has shape"):
        cardiac_function(cine, lambda im: threshold_segment(im)[:2])
    with pytest.raises(MedlearnInputError, match="same in every phase"):
        cardiac_function(cine, lambda im: threshold_segment(cine.phases[0]))
    with pytest.raises(MedlearnInputError, match="no LV cavity"):
        cardiac_function(cine, lambda im: np.zeros(im.spatial_shape, np.uint8), ed=0, es=1)


def test_phases_of_different_geometry_are_refused():
    a = MedImage(np.zeros((3, 8, 8), np.float32), spacing=(10, 1, 1))
    b = MedImage(np.zeros((3, 8, 8), np.float32), spacing=(8, 1, 1))
    with pytest.raises(MedlearnInputError, match="share one geometry"):
        cardiac_function([a, b], lambda im: np.zeros(im.spatial_shape, np.uint8))


def test_model_segmenter_asks_for_masks_without_heat_maps(cine):
    class Recorder:
        def __init__(self):
            self.calls = []

        def predict(self, case, image, arch=None, explain="gradcam", checkpoint=None):
            self.calls.append((case, explain, checkpoint, image.shape))
            return type("P", (), {"mask": threshold_segment(image), "notes": []})()

    recorder = Recorder()
    segment = ModelSegmenter("heart", checkpoint="model.safetensors", predictor=recorder)
    r = cardiac_function(cine, segment)
    assert recorder.calls == [("heart", None, "model.safetensors", (3, 40, 40))] * 4
    assert len(segment.predictions) == 4 and r.ef_percent == pytest.approx(expected()["ef"])


@pytest.mark.mirror
def test_sunnybrook_ef_from_expert_contours(mirror):
    """The experts' ED and ES contours, rasterised by the Sunnybrook source, give each
    patient's EF; all four are heart failure with infarction (published group mean 32.0 %)."""
    from medlearn.data.sources import get_source

    samples = get_source("sunnybrook").load("heart")
    efs = {}
    for patient in sorted({s.meta["patient"] for s in samples}):
        contoured = {f"{s.meta['image_number']}.dcm": s for s in samples if s.meta["patient"] == patient}
        cine = read_cine(mirror / "cardiac_lv_mri/sunnybrook/dicoms" / patient)

        def expert(image, cine=cine, contoured=contoured):
            return np.stack([contoured[name].mask for name in cine.files[image.meta["phase_index"]]])

        r = cardiac_function(cine, expert)
        assert {contoured[n].meta["phase"] for n in cine.files[r.ed_phase]} == {"ED"}
        assert {contoured[n].meta["phase"] for n in cine.files[r.es_phase]} == {"ES"}
        assert 120 < r.edv_ml < 350 and 80 < r.esv_ml < r.edv_ml and 80 < r.myocardial_mass_g < 250
        efs[patient] = round(r.ef_percent, 1)
    assert all(15 < ef < 45 for ef in efs.values()), efs
    assert 20 < np.mean(list(efs.values())) < 40, efs  # near the published HF-I mean, far from normal 62.9 %
    assert efs == pytest.approx({"SCD0000101": 25.8, "SCD0000201": 25.1, "SCD0000301": 21.5,
                                 "SCD0000401": 32.8}, abs=0.1)
