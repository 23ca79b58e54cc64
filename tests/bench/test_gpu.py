"""The GPU benchmark: its skip path without CUDA and its inner functions on CPU, tiny."""

from __future__ import annotations

import json
import math

import torch

from bench import gpu


def test_without_cuda_it_says_skipped_and_exits_zero(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main() == 0
    assert "no CUDA device: skipped" in capsys.readouterr().out


def test_inner_functions_run_on_cpu_with_tiny_sizes(tmp_path, monkeypatch):
    rows = gpu.collect("cpu", cases=["breast", "heart"], quick=True)
    assert [r.bench for r in rows] == ["gpu"] * 4
    assert all(math.isfinite(r.value) and r.value > 0 for r in rows)
    assert rows[0].name.startswith("breast alexnet") and rows[1].name.startswith("heart unet")
    assert all(math.isfinite(r.baseline) and math.isfinite(r.ratio) for r in rows[2:])
    monkeypatch.setattr(gpu, "RESULTS", tmp_path / "results")
    monkeypatch.setenv("OUT", str(tmp_path / "out"))
    paths = gpu.write(rows, gpu.versions(torch.device("cpu")))
    assert [p.parent.name for p in paths] == ["results", "out"]
    blob = json.loads(paths[1].read_text())
    assert blob["versions"]["torch"] == torch.__version__ and len(blob["rows"]) == 4
