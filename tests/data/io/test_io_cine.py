"""read_cine: every phase of a DICOM cine, grouped as the series reader groups, incomplete positions left out."""

import io
import json
import zipfile

import numpy as np
import pytest

from cine_dicom import GAP_MM, PIXEL_MM, SIDES, TRIGGERS, cine_files, dicom_frame, frame, write
from medlearn.data.io import read_image
from medlearn.data.io.cine import read_cine
from medlearn.errors import MedlearnInputError


def _zip(files) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files:
            zf.writestr(name, data)
    return buf.getvalue()


def test_every_phase_in_trigger_order_at_every_position(tmp_path):
    write(tmp_path / "cine", cine_files())
    cine = read_cine(tmp_path / "cine")
    assert cine.n_phases == 4 and cine.trigger_times_ms == TRIGGERS
    assert cine.positions_mm == [0.0, 10.0, 20.0] and cine.positions_left_out == []
    assert cine.source == "cine" and cine.slice_spacing_mm == pytest.approx(GAP_MM)
    for t, image in enumerate(cine.phases):
        assert image.shape == (3, 40, 40) and image.spacing == pytest.approx((GAP_MM, PIXEL_MM, PIXEL_MM))
        assert image.meta["phase_index"] == t and image.meta["phases"] == 4
        for z in range(3):  # InstanceNumber runs against time: the order came from TriggerTime and position
            np.testing.assert_array_equal(image.pixels[z], frame(SIDES[t][z]))
            assert cine.files[t][z] == f"z{z}_t{t}.dcm"
    assert "4 phases at 3 slice positions" in cine.notes[0]
    json.dumps(cine.summary())


def test_each_phase_is_what_read_image_gives_for_that_volume_index(tmp_path):
    files = cine_files(seed=3)
    cine = read_cine(files)
    for t, image in enumerate(cine.phases):
        same = read_image(files, volume_index=t)
        np.testing.assert_array_equal(image.pixels, same.pixels)
        assert image.spacing == same.spacing and image.orientation == same.orientation


@pytest.mark.parametrize("kind", ["zip bytes", "zip path", "pairs"])
def test_zip_and_file_lists_read_alike(kind, tmp_path):
    files = cine_files()
    if kind == "zip bytes":
        cine = read_cine(_zip(files), "cine.zip")
    elif kind == "zip path":
        (tmp_path / "cine.zip").write_bytes(_zip(files))
        cine = read_cine(tmp_path / "cine.zip")
    else:
        cine = read_cine(files)
    assert cine.n_phases == 4 and [p.shape for p in cine.phases] == [(3, 40, 40)] * 4
    np.testing.assert_array_equal(cine.phases[1].pixels[0], frame(SIDES[1][0]))


def test_a_position_with_fewer_frames_is_left_out_and_named(tmp_path):
    files = cine_files(extra=((30.0, 2),))
    with pytest.raises(MedlearnInputError, match="uneven numbers of files"):
        read_image(files)  # one volume cannot be read from it...
    cine = read_cine(files)  # ...but the complete positions form a cine
    assert cine.n_phases == 4 and cine.positions_mm == [0.0, 10.0, 20.0]
    assert cine.positions_left_out == [(30.0, 2)]
    assert any("Left out 1 of 4 slice positions, which do not hold 4 frames: 30.0 mm (2 files)." in n
               for n in cine.notes), cine.notes
    assert all(p.shape == (3, 40, 40) for p in cine.phases)
    assert not any("extra" in name for row in cine.files for name in row)


def test_a_position_with_more_frames_is_left_out_too():
    files = cine_files(extra=((30.0, 4),)) + [("again.dcm", dicom_frame(frame(4), 0.0, 900.0, 5000))]
    cine = read_cine(files)  # positions 10, 20 and 30 hold 4 frames, position 0 holds 5
    assert cine.n_phases == 4 and cine.positions_mm == [10.0, 20.0, 30.0]
    assert cine.positions_left_out == [(0.0, 5)]


def test_uneven_gaps_are_noted_and_the_median_gap_used():
    cine = read_cine(cine_files(extra=((35.0, 4),)))  # positions 0, 10, 20, 35
    assert cine.positions_mm == [0.0, 10.0, 20.0, 35.0] and cine.slice_spacing_mm == pytest.approx(10.0)
    assert any("Slice gaps are uneven (10.0 to 15.0 mm)" in n for n in cine.notes), cine.notes


def test_one_phase_per_position_is_a_one_phase_cine():
    files = cine_files(sides=[SIDES[0]], triggers=[TRIGGERS[0]])
    cine = read_cine(files)
    assert cine.n_phases == 1 and cine.phases[0].shape == (3, 40, 40)
    np.testing.assert_array_equal(cine.phases[0].pixels, read_image(files).pixels)
    assert "each slice position holds one frame" in cine.notes[0]


def test_a_single_file_is_one_phase(tmp_path):
    name, data = cine_files()[0]
    cine = read_cine(data, name)
    assert cine.n_phases == 1 and cine.phases[0].shape == (40, 40) and cine.source == name


def test_without_trigger_times_phases_follow_instance_numbers():
    cine = read_cine(cine_files(triggers=None))
    assert cine.trigger_times_ms is None and any("no TriggerTime" in n for n in cine.notes)
    np.testing.assert_array_equal(cine.phases[0].pixels[0], frame(SIDES[3][0]))  # instances run backwards


def test_one_complete_position_is_not_a_stack():
    files = cine_files(sides=[[s[0]] for s in SIDES])  # one position, four phases
    with pytest.raises(MedlearnInputError, match="only one slice position"):
        read_cine(files)


def test_unreadable_input_gives_read_image_message(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "more.txt").write_text("world")
    with pytest.raises(MedlearnInputError, match="none of the 2 files is a DICOM"):
        read_cine(tmp_path)


@pytest.mark.mirror
def test_sunnybrook_patient_folders(mirror):
    root = mirror / "cardiac_lv_mri/sunnybrook/dicoms"
    positions = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        cine = read_cine(folder)
        assert cine.n_phases == 2 and cine.positions_left_out == []  # contoured ED and ES frames only
        z = len(cine.positions_mm)
        assert all(p.shape == (z, 256, 256) for p in cine.phases)
        assert sorted(n for row in cine.files for n in row) == sorted(p.name for p in folder.glob("*.dcm"))
        assert cine.trigger_times_ms[0] < cine.trigger_times_ms[1]
        positions[folder.name] = (z, round(cine.slice_spacing_mm, 2))
    # 10 mm slices for the first two patients, 8 mm for the others (gaps = SliceThickness here)
    assert positions == {"SCD0000101": (9, 10.0), "SCD0000201": (9, 10.0), "SCD0000301": (10, 8.0),
                         "SCD0000401": (9, 8.0)}


def test_files_that_are_not_dicom_are_skipped_and_counted():
    cine = read_cine(cine_files() + [("README.txt", b"scanner notes")])
    assert cine.n_phases == 4
    assert "1 of the 13 files are not readable DICOM images and were skipped." in cine.notes
