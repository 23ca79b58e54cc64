"""Memory benchmark pieces, tiny: the volume it uploads, the peak sampler and its guard, a
phase against a stand-in page (one upload read, one refused with a reason, one refused
without), the rows and the per-step profile."""

from __future__ import annotations

import asyncio
import gzip
import os

import numpy as np

from bench import bench_memory as bm
from bench.serve import StreamlitServer

# A stand-in for "Try your own image": reads the upload's size, refuses "big_" files with a
# reason and "mute_" files with an empty error box.
STAND_IN = '''import streamlit as st
st.title("Stand-in upload page")
files = st.file_uploader("Upload an image", accept_multiple_files=True)
if files:
    f = files[0]
    if f.name.startswith("big_"):
        st.error("This volume needs 2 GB of memory and the server has 1 GB free: try a smaller file.")
    elif f.name.startswith("mute_"):
        st.error(" ")
    else:
        st.markdown(f"**What MedLearn read**: {len(f.getvalue())} bytes")
'''


def test_nifti_volume_has_the_asked_size():
    import nibabel as nib

    data = bm.nifti_volume(1.0, shape_z=8)
    img = nib.Nifti1Image.from_bytes(data)
    assert img.get_fdata(dtype=np.float32).dtype == np.float32 and img.shape[2] == 8
    assert abs(len(data) - bm.MB) < 0.05 * bm.MB
    assert not data.startswith(gzip.compress(b"")[:2])  # uncompressed: the size is the volume's


def test_sampler_sees_this_process_and_stops_at_its_cap():
    stopped = []
    with bm.PeakSampler(os.getpid(), every_s=0.01, cap=1, over=lambda: stopped.append(True)) as sampler:
        ballast = np.ones(20 * bm.MB, np.uint8)
        deadline = 200
        while not stopped and deadline:
            asyncio.run(asyncio.sleep(0.01))
            deadline -= 1
    assert sampler.peak >= ballast.nbytes and sampler.capped and stopped == [True]


def test_a_phase_tells_read_refused_and_unexplained_uploads_apart(tmp_path):
    (tmp_path / "app.py").write_text(STAND_IN)
    ui = bm.UploadUI(page="")
    data = b"x" * 1000

    async def three(server):
        pairs = await asyncio.gather(*(bm.upload_once(server.url, ui, name, data, 30.0)
                                       for name in ("ok_1.nii", "big_2.nii", "mute_3.nii")))
        for session, _ in pairs:
            await session.close()
        return [out for _, out in pairs]

    with StreamlitServer(tmp_path / "app.py", cwd=tmp_path) as server:
        ok, big, mute = asyncio.run(three(server))
        phase = asyncio.run(bm._phase(server, "together", 2, data, ui, 30.0, max_gb=100))
    assert ok.read and ok.explained and ok.refusal is None and ok.error is None
    assert not big.read and "memory" in big.refusal and big.explained
    assert not mute.explained
    assert phase["peak"] >= phase["baseline"] > 0 and not phase["capped"]
    assert [o.read for o in phase["outcomes"]] == [True, True]
    rows = bm._rows(phase, 0.001)
    assert rows[0].unit == "GB" and rows[0].ok is True and rows[2].value == 0 and rows[3].value == 0


def test_rows_count_refusals_and_the_guard():
    outs = [bm.Outcome(1.0, read=True), bm.Outcome(2.0, refusal="not enough memory: 1 GB free"),
            bm.Outcome(3.0, error="TimeoutError: late")]
    phase = {"mode": "together", "n": 3, "baseline": 1 * bm.GB, "peak": 3 * bm.GB, "kept": 2 * bm.GB,
             "wall_s": 9.0, "capped": True, "outcomes": outs}
    peak, kept, refused, lost = bm._rows(phase, 150)
    assert peak.value == 3 and peak.ratio == 3 and peak.ok is False and peak.extra["guard_stopped_server"]
    assert kept.value == 2 and refused.value == 1 and refused.ok is True and lost.value == 1 and lost.ok is False


def test_profile_measures_the_decoded_volume():
    # 40 MB: above glibc's largest mmap threshold (32 MB), so the arrays get fresh pages that
    # show in the resident set whatever this process freed before
    steps = bm.profile_read(bm.nifti_volume(40.0))
    decoded = steps["read_image (decode)"]
    assert decoded["kept_mb"] > 30 and decoded["peak_mb"] >= decoded["kept_mb"]
    assert 39 <= steps["for scale: image.pixels"]["kept_mb"] <= 41
