"""Robustness benchmark, tiny: a row per curve with its baseline and ratio (no timing judged)."""

from __future__ import annotations

from bench import bench_robustness


def test_rows_carry_the_plain_prediction_as_baseline():
    rows = bench_robustness.run(cases=("breast",), repeat=1, n_items=2, perturbations=("blur",))
    assert [r.name for r in rows] == ["breast: one-image blur curve", "breast: noise curve over 2 items"]
    for r in rows:
        assert r.value > 0 and r.baseline > 0
        assert r.ratio == r.extra["ms_per_answer"] / r.baseline and r.ok == (r.ratio <= bench_robustness.LIMIT)
    assert rows[0].extra["answers"] == 6 and rows[1].extra["answers"] == 12
