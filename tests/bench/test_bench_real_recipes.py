"""Smoke run of the real-data recipe benchmark (one epoch, lung): rows, not timings."""

import math

from bench import bench_real_recipes


def test_without_the_mirror_it_says_why(monkeypatch):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)
    (row,) = bench_real_recipes.run()
    assert row.name == "skipped" and "MEDLEARN_MIRROR" in row.target and math.isnan(row.value)


def test_one_epoch_lung_row_has_its_phantom_baseline(mirror):
    (row,) = bench_real_recipes.run(epochs=1, cases=("lung",))
    assert row.name == "lung resnet18 on lidc_crops" and row.extra["status"] == "done"
    assert row.value > 0 and row.baseline > 0 and row.ratio == round(row.value / row.baseline, 2)
    assert row.target == "<= 300 s" and row.ok is (row.value <= 300)
