"""DDP: two CPU processes on gloo through torchrun; rank 0's checkpoint loads."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from medlearn.train.checkpoints import load_checkpoint
from medlearn.train.store import RunStore
from train_helpers import build, tensors

ROOT = Path(__file__).resolve().parents[2]


def test_two_process_gloo_run(tmp_path):
    x, y = tensors(24)
    np.savez(tmp_path / "data.npz", images=x.numpy(), targets=y.numpy(), val_images=x[:8].numpy(),
             val_targets=y[:8].numpy())
    out = tmp_path / "ddp.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(Path(__file__).parent)])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "medlearn.train.ddp", "--case", "breast", "--arch", "train_helpers:build_classifier",
           "--data", str(tmp_path / "data.npz"), "--epochs", "2", "--batch-size", "4", "--width", "4",
           "--out", str(out), "--store", str(tmp_path / "runs.sqlite")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for rank in (0, 1):  # each rank trained on its half: 12 images x 2 epochs
        assert f"[ddp] rank {rank}/2 done: 24 images over 2 epochs" in proc.stdout
    model, meta = load_checkpoint(out, builder=build)
    assert meta["num_classes"] == 2 and meta["metrics"]["epoch"] == 2
    [run] = RunStore(tmp_path / "runs.sqlite").list_runs()
    assert run.status == "done" and run.config["world_size"] == 2
