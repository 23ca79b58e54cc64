"""CLI start-up benchmark, tiny: one timed round gives a row per command with a ratio to
``import torch``; the light commands import none of the heavy libraries (no timing judged)."""

from __future__ import annotations

from bench import bench_cli


def test_light_commands_import_no_heavy_library():
    for argv in bench_cli.COMMANDS.values():
        assert bench_cli.heavy_imports(argv) == [], argv
    # the probe does see a heavy import when there is one
    assert "skimage" in bench_cli.heavy_imports(("datasets",))  # the sources' readers load scikit-image
    assert bench_cli.heavy_imports(("runs",)) == []  # the run store opens without torch


def test_one_round_gives_a_row_per_command_with_a_ratio():
    rows = bench_cli.run(repeat=1, warmup=0)
    assert [r.name for r in rows] == [f"start-up: {name}" for name in bench_cli.COMMANDS]
    for r in rows:
        assert r.value > 0 and r.baseline > 0 and r.ratio == r.value / r.baseline
        assert r.target == "ratio <= 1.5" and r.ok == (r.ratio <= 1.5)
        assert r.extra["heavy_imports"] == [] and len(r.extra["samples_ms"]) == 1
