"""The vessel benchmark, tiny: a full-resolution answer measured beside bare passes of the same run."""

from __future__ import annotations

from bench import bench_vessels


def test_rows_measure_the_full_resolution_answer_against_a_bare_pass():
    rows = bench_vessels.run(repeat=1, warmup=0, recipes=(("phantoms", 256),))
    assert len(rows) == 4 and all(r.bench == "vessels" and r.value > 0 for r in rows)
    assert all("256px, trained on 128px tiles" in r.name for r in rows)
    answer, ratio = rows[0], rows[1]
    assert answer.ok == (answer.value <= bench_vessels.TARGET_MS)
    assert ratio.baseline > 0 and abs(ratio.ratio - ratio.value / ratio.baseline) < 1e-9
    assert ratio.ok == (ratio.ratio <= bench_vessels.RATIO)
    windows = rows[2]
    assert "sliding windows / one pass" in windows.name and windows.baseline == ratio.baseline
