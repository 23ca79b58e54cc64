"""The trust benchmark, tiny: every row measured beside the plain Grad-CAM of the same run."""

from __future__ import annotations

from bench import bench_trust


def test_rows_carry_the_grad_cam_baseline_and_ratios():
    rows = bench_trust.run(repeat=1, warmup=0, input_size=32, with_faithfulness=False)
    names = [r.name for r in rows]
    assert names[0].endswith("one Grad-CAM (baseline)") and len(rows) == 3
    assert all(r.bench == "trust" and r.value > 0 for r in rows)
    base = rows[0].value
    for r in rows[1:]:
        assert r.baseline == base and abs(r.ratio - r.value / base) < 1e-9
    sanity = next(r for r in rows if "sanity" in r.name)
    assert sanity.ok == (sanity.ratio <= bench_trust.SANITY_RATIO) and "32px" in sanity.name
