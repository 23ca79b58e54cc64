"""Smoke run of the first-visit benchmark (lung, a 5 s budget): rows, not timings."""

from bench import bench_first_visit


def test_lung_first_model_row(mirror):
    (row,) = bench_first_visit.run(cases=("lung",), with_full=False, budget_s=5)
    assert row.name == "lung: first model (resnet18 on lidc_crops)" and row.extra["status"] == "done"
    assert row.value > 0 and row.target == "<= 60 s" and row.ok is (row.value <= 60)
    assert row.extra["budget_s"] == 5 and row.extra["epochs"] >= 1 and row.extra["accuracy"] is not None
