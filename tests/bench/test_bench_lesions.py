"""The lesions benchmark runs at tiny sizes and reports its rows against their targets."""

from __future__ import annotations

from bench import bench_lesions


def test_lesion_rows_are_measured_and_judged():
    rows = bench_lesions.run(repeat=1, warmup=0, input_size=256)
    assert len(rows) == 4 and all(r.bench == "lesions" and r.value > 0 for r in rows)
    answer, ratio, lesson, versus = rows
    assert answer.ok == (answer.value <= bench_lesions.TARGET_MS)
    assert ratio.ok == (ratio.ratio <= bench_lesions.RATIO) and ratio.baseline > 0
    assert lesson.ok == (lesson.value <= bench_lesions.TARGET_MS)
    assert versus.ok is None and versus.baseline > 0 and versus.ratio == versus.value / versus.baseline
