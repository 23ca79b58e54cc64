"""``python -m medlearn train / prepare / runs`` through the CLI dispatcher."""

import json

from medlearn.cli import main


def test_train_then_runs(capsys):
    rc = main(["train", "breast", "--arch", "alexnet", "--epochs", "1", "--n-train", "8", "--n-val", "4",
               "--input-size", "32", "--batch-size", "4"])
    out = capsys.readouterr().out
    assert rc == 0 and "epoch 1/1" in out and "run 1 done" in out and "checkpoint: " in out
    assert main(["runs"]) == 0
    table = capsys.readouterr().out
    assert "breast" in table and "alexnet" in table and "done" in table
    assert main(["runs", "--case", "breast", "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert run["arch"] == "alexnet" and len(run["epochs"]) == 1


def test_prepare_first_lists_one_network_per_case(capsys, monkeypatch):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)  # phantoms: the cases' own first networks
    assert main(["prepare", "breast", "lung", "--first", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "alexnet" in out and "resnet18" in out and "classic" not in out and "2 model(s) to train" in out


def test_prepare_dry_run_lists_missing_models(capsys, monkeypatch):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)  # no real data here: phantoms
    assert main(["prepare", "heart", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "heart        unet         phantoms         to train" in out and "2 model(s) to train" in out


def test_prepare_trains_on_real_data_when_it_is_here(capsys, mirror):
    """The best data wins by default: the mirror's Sunnybrook and BUSI, phantoms for gastric."""
    assert main(["prepare", "heart", "breast", "gastric", "--first", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "heart        unet         sunnybrook       to train" in out
    assert "breast       resnet18     busi             to train" in out  # BUSI's recipe puts ResNet-18 first
    assert "gastric      unet         phantoms         to train" in out
    assert main(["prepare", "heart", "--data", "phantoms", "--dry-run"]) == 0
    assert "sunnybrook" not in capsys.readouterr().out


def test_bad_input_is_one_error_line(capsys):
    assert main(["train", "spleen"]) == 2
    assert capsys.readouterr().err.startswith("error: Unknown case 'spleen'")
    assert main(["train", "breast", "--arch", "alexnet", "--input-size", "3"]) == 2
    assert main(["runs"]) == 0 and "no runs recorded yet" in capsys.readouterr().out
