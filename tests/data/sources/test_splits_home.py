"""Deterministic group splits, and where the data home and mirror are."""

from pathlib import Path

from medlearn.data import home
from medlearn.data.sources.splits import select, split_of


def test_split_is_deterministic_and_roughly_70_15_15():
    ids = [f"case_{i}" for i in range(3000)]
    parts = [split_of(i) for i in ids]
    assert parts == [split_of(i) for i in ids]
    shares = {p: parts.count(p) / len(ids) for p in ("train", "val", "test")}
    assert abs(shares["train"] - 0.70) < 0.03 and abs(shares["val"] - 0.15) < 0.03


def test_select_keeps_groups_together_and_partitions_all():
    items = [(f"patient{i % 20}", i) for i in range(200)]
    chosen = {s: select(items, s, group=lambda it: it[0]) for s in ("train", "val", "test")}
    assert sorted(x for s in chosen.values() for x in s) == sorted(items)
    patients = {s: {it[0] for it in v} for s, v in chosen.items()}
    assert not (patients["train"] & patients["val"]) and not (patients["train"] & patients["test"])
    assert select(items, "all", group=lambda it: it[0], limit=7) == items[:7]


def test_keyed_order_mixes_classes_under_a_limit():
    items = [("a", i) for i in range(50)] + [("b", i) for i in range(50)]
    first = select(items, "all", group=str, limit=10, key=lambda it: f"{it[0]}{it[1]}")
    assert {c for c, _ in first} == {"a", "b"}


def test_data_home_env_and_xdg_default(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDLEARN_HOME", str(tmp_path / "h"))
    assert home.data_home() == tmp_path / "h" and not (tmp_path / "h").exists()
    assert home.dataset_dir("busi") == tmp_path / "h" / "datasets" / "busi"
    monkeypatch.delenv("MEDLEARN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert home.data_home() == tmp_path / "xdg" / "medlearn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert home.data_home() == Path.home() / ".cache" / "medlearn"


def test_mirror_unset_or_missing_is_none(monkeypatch, tmp_path):
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)
    assert home.mirror_root() is None and home.mirror_path("busi") is None
    monkeypatch.setenv("MEDLEARN_MIRROR", str(tmp_path / "absent"))
    assert home.mirror_root() is None
    (tmp_path / "m" / "x").mkdir(parents=True)
    monkeypatch.setenv("MEDLEARN_MIRROR", str(tmp_path / "m"))
    assert home.mirror_path("x") == tmp_path / "m" / "x" and home.mirror_path("y") is None
