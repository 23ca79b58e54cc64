"""``medlearn.results``: the held-out figures the pages show, read from one file."""

import json

from medlearn.results import figure_text, held_out_text, measured, model_text

ROW = {"case": "breast", "arch": "resnet18", "source": "busi", "status": "done", "split": "5-fold",
       "n_items": 95, "n_groups": 95, "plan": {"input_size": 128, "epochs": 15},
       "figures": {"auc": {"label": "AUC", "value": 0.8671, "ci_low": 0.781, "ci_high": 0.94, "n": 95}}}


def test_rows_of_a_case_in_words(tmp_path):
    path = tmp_path / "real_results.json"
    path.write_text(json.dumps([ROW, {**ROW, "case": "lung"}, {**ROW, "status": "failed"}]))
    (row,) = measured("breast", path)
    assert figure_text(row["figures"]["auc"]) == "AUC 0.867 [0.78, 0.94] (n 95)"
    assert held_out_text(row) == "busi, 5-fold cross-validation (95 items, 95 groups)"
    assert model_text(row) == "resnet18 (128 px, 15 ep)"
    assert measured("heart", path) == [] and measured("breast", tmp_path / "none.json") == []
    path.write_text("not json")
    assert measured("breast", path) == []  # a damaged file shows nothing, never an error


def test_a_sim_to_real_row_says_how_it_started():
    assert model_text({**ROW, "init": "phantoms"}) == "resnet18 (128 px, 15 ep, pre-trained on phantoms)"
