"""The transfer-learning preset in Train (ui.train.transfer): offline it says why ImageNet is off;
online (a tiny real state dict served from 127.0.0.1) one click downloads the weights with a
progress bar and the ImageNet start turns on; Start queues one network three ways into the race;
finished runs that differ only in their starting weights are compared with 95 % intervals."""

from __future__ import annotations

import hashlib
import io
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import torch
from streamlit.testing.v1 import AppTest

from file_server import serve
from medlearn.models import pretrained

TOGGLE = "t.transfer.on"


def _preset():
    """The preset for the retina grading study on RetinaMNIST's sizes (no data is loaded to draw it)."""
    import streamlit as st

    from medlearn.cases import get_case
    from ui.train.transfer import render_transfer_preset

    render_transfer_preset(get_case("retina"), "t", st.session_state.get("source", "retinamnist"),
                           {"epochs": 1, "n_train": 6, "input_size": 32, "learning_rate": 3e-3, "n_val": 6, "seed": 0})


@contextmanager
def serving(files: dict[str, bytes]):
    """``files`` (path -> bytes) on 127.0.0.1 (tests/file_server.py); the server stops when the block ends."""
    with serve(files) as (url, _):
        yield url


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch cache; resnet18's torchvision entry names a tiny real state dict's bytes."""
    from ui.predict.dataset_download import reachable

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    buffer = io.BytesIO()
    torch.save({"conv1.weight": torch.randn(64, 3, 7, 7), "bn1.weight": torch.rand(64)}, buffer)
    data = buffer.getvalue()
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    fake = SimpleNamespace(url=f"https://download.pytorch.org/models/{name}",
                           meta={"_file_size": len(data) / 2 ** 20, "num_params": 11689512})
    real = pretrained.imagenet_weights
    monkeypatch.setattr(pretrained, "imagenet_weights", lambda n: fake if n == "resnet18" else real(n))
    reachable.clear()
    yield SimpleNamespace(data=data, name=name, dest=tmp_path / "torch" / "hub" / "checkpoints" / name)
    reachable.clear()


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
                     + [i.value for i in at.info] + [s.value for s in at.success]).replace("\\", "")


def test_offline_the_imagenet_start_says_why_it_is_off(hub):
    at = AppTest.from_function(_preset, default_timeout=60).run()
    assert not at.exception and "A preset: one network trained three ways" in _texts(at)
    at.toggle(key=TOGGLE).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _texts(at)
    assert "From scratch" in shown and "ImageNet-pretrained" in shown and "MedLearn-pretrained" in shown
    assert "not on this machine" in shown and "Diabetic retinopathy's phantoms" in shown
    assert "cannot reach 127.0.0.1:9 (no internet, or the site is down)" in shown  # the tests' closed mirror
    assert f"copy `{hub.name}` into" in shown and "non-commercial research and educational purposes" in shown
    assert "ImageNet is unavailable here" in shown and "cannot be checked on this machine" in shown
    labels = [b.label for b in at.button]
    assert "Start the transfer-learning race (2 runs of resnet18)" in labels and "Check the connection again" in labels


def test_one_click_downloads_the_weights_and_turns_the_imagenet_start_on(hub, monkeypatch):
    with serving({f"/{hub.name}": hub.data}) as url:
        monkeypatch.setenv(pretrained.WEIGHTS_BASE_ENV, url)
        at = AppTest.from_function(_preset, default_timeout=60).run()
        at.toggle(key=TOGGLE).set_value(True).run()
        go = "t.transfer.imagenet.resnet18.go"
        assert any(b.key == go for b in at.button) and "MB" in next(b.label for b in at.button if b.key == go)
        at.button(key=go).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert hub.dest.read_bytes() == hub.data and not list(hub.dest.parent.glob("*.part"))
    shown = _texts(at)
    assert "downloaded and verified" in shown and "ImageNet is unavailable here" not in shown
    assert "Start the transfer-learning race (3 runs of resnet18)" in [b.label for b in at.button]


def test_start_queues_one_network_three_ways_on_one_split(hub, monkeypatch):
    hub.dest.parent.mkdir(parents=True)
    hub.dest.write_bytes(hub.data)  # the ImageNet weights are here
    calls = []
    from ui.train import jobs

    monkeypatch.setattr(jobs, "start_race", lambda case, archs, source, variants, **choices:
                        calls.append((case.key, archs, source, variants, choices)) or [])
    at = AppTest.from_function(_preset, default_timeout=60).run()
    at.toggle(key=TOGGLE).set_value(True).run()
    at.button(key="t.transfer.start").click().run()
    assert not at.exception
    (case, archs, source, variants, choices), = calls
    assert (case, archs, source) == ("retina", ["resnet18"], "retinamnist")
    assert variants == {"resnet18": [{"init": "imagenet"}, {"init": "phantoms"}]}
    assert choices["width"] == 64 and choices["seed"] == 0 and choices["epochs"] == 1  # the same plan otherwise


def test_finished_runs_differing_only_in_starting_weights_are_compared(close_jobs):
    from medlearn.train.recipes import train_recipe

    tiny = dict(epochs=1, n_train=6, n_val=6, input_size=16, batch_size=6)
    scratch = train_recipe("breast", "resnet18", "phantoms", **tiny)
    train_recipe("breast", "resnet18", "phantoms", init=f"medlearn:{scratch.checkpoint}", **tiny)

    def page():
        from medlearn.cases import get_case
        from ui.train.transfer import render_comparison

        render_comparison(get_case("breast"), "b")

    at = AppTest.from_function(page, default_timeout=120).run()
    pick = at.selectbox(key="b.transfer.group")
    assert "1 earlier comparison(s)" in pick.placeholder
    pick.set_value(0).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    scratch_col, warm_col, diff_col = table.columns[1:]
    assert list(table["figure"]) == ["AUC", "accuracy (argmax)"]
    assert scratch_col.startswith("From scratch (run ") and warm_col.startswith("MedLearn-pretrained (run ")
    assert diff_col == "MedLearn-pretrained − scratch (paired)"
    assert all("[" in v and v.endswith("]") for v in table[warm_col])  # each figure with its interval
    assert all(v.startswith(("+", "-")) for v in table[diff_col])
    assert len(at.get("plotly_chart")) == 2  # the curves and the forest plot
    assert "same 6 validation items** (n 6" in "\n".join(m.value for m in at.markdown)
    assert "No ImageNet run" in _texts(at)


def test_the_race_asks_the_network_only_after_the_click(hub, monkeypatch):
    from ui.predict import dataset_download

    asked = []
    real = dataset_download.probe
    monkeypatch.setattr(dataset_download, "probe", lambda url, timeout: asked.append(url) or real(url, timeout))

    def settings():
        from medlearn.cases import get_case
        from ui.train.train_settings import _imagenet_and_other_cases

        _imagenet_and_other_cases(get_case("retina"), ["resnet18", "alexnet"], "r")

    at = AppTest.from_function(settings, default_timeout=60).run()
    assert not at.exception and at.checkbox(key="r.imagenet").disabled and asked == []
    assert "downloads them only when you ask" in _texts(at)
    at.button(key="r.imagenet_offer.open").click().run()
    assert not at.exception and len(asked) == 2  # one HEAD per network's file, remembered for a minute
    shown = _texts(at)
    assert "ResNet-18: ImageNet-1K weights" in shown and "AlexNet: ImageNet-1K weights" in shown
    assert shown.count("cannot reach 127.0.0.1:9") == 2
