"""ImageNet weights on a user's request: size, licence, progress, the hash prefix checked, an
atomic write into the torch cache; offline, a plain reason. A tiny real state dict is served
from 127.0.0.1 (``MEDLEARN_WEIGHTS_BASE``); every test stops its server."""

from __future__ import annotations

import hashlib
import io
import socket
from types import SimpleNamespace

import pytest
import torch

from file_server import serve
from medlearn.errors import MedlearnInputError
from medlearn.models import get_model, weights_status
from medlearn.models import pretrained
from medlearn.models.pretrained import (IMAGENET_CACHED, LICENCE, WEIGHTS_BASE_ENV, fetch_imagenet_weights,
                                        imagenet_unavailable_reason, weights_file)


def serving(files: dict[str, bytes]):
    """``files`` (path -> bytes) on 127.0.0.1 (tests/file_server.py); the server stops when the block ends."""
    return serve(files)


def tiny_state_dict() -> dict[str, torch.Tensor]:
    """A few real ResNet-18 tensors (names and shapes of torchvision's file), about 170 kB."""
    torch.manual_seed(0)
    return {"conv1.weight": torch.randn(64, 3, 7, 7), "bn1.weight": torch.rand(64), "bn1.bias": torch.randn(64),
            "layer1.0.conv1.weight": torch.randn(64, 64, 3, 3)}


def as_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch cache (TORCH_HOME) and resnet18's torchvision entry pointing at ``file``:
    the tiny state dict's bytes under a torchvision-style name carrying their SHA-256 prefix."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    data = as_bytes(tiny_state_dict())
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    meta = {"_file_size": len(data) / 2 ** 20, "num_params": 11689512, "_metrics": {"ImageNet-1K": {"acc@1": 69.758}}}
    fake = SimpleNamespace(url=f"https://download.pytorch.org/models/{name}", meta=meta)
    real = pretrained.imagenet_weights
    monkeypatch.setattr(pretrained, "imagenet_weights", lambda n: fake if n == "resnet18" else real(n))
    return SimpleNamespace(data=data, name=name, folder=tmp_path / "torch" / "hub" / "checkpoints")


def test_the_real_torchvision_entry_gives_size_hash_and_licence(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    wf = weights_file("resnet18")
    assert wf.name == "resnet18-f37072fd.pth" and wf.hash_prefix == "f37072fd"
    assert 46_000_000 < wf.approx_bytes < 47_500_000 and wf.num_params == 11_689_512  # torchvision's meta
    assert wf.dest.parent == tmp_path / "torch" / "hub" / "checkpoints" and not wf.cached
    assert wf.url == "http://127.0.0.1:9/resnet18-f37072fd.pth"  # tests: the datasets' closed mirror
    monkeypatch.setenv(WEIGHTS_BASE_ENV, "http://mirror.example/weights/")
    assert wf.url == "http://mirror.example/weights/resnet18-f37072fd.pth"
    monkeypatch.delenv(WEIGHTS_BASE_ENV)
    monkeypatch.delenv("MEDLEARN_DOWNLOAD_BASE")
    assert wf.url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert "BSD 3-Clause" in LICENCE and "non-commercial research and educational purposes" in LICENCE
    assert "may have their own licenses" in LICENCE
    assert "46.8 MB" in imagenet_unavailable_reason("resnet18")
    assert imagenet_unavailable_reason("unet") == "U-Net has no published ImageNet weights"
    with pytest.raises(MedlearnInputError, match="no ImageNet weights exist"):
        weights_file("unet")


def test_download_reports_bytes_checks_the_hash_and_the_network_loads_it(hub, monkeypatch):
    calls = []
    with serving({f"/{hub.name}": hub.data}) as (url, server):
        monkeypatch.setenv(WEIGHTS_BASE_ENV, url)
        assert imagenet_unavailable_reason("resnet18").startswith("ResNet-18's ImageNet weights")
        path = fetch_imagenet_weights("resnet18", progress=lambda done, total: calls.append((done, total)))
        again = fetch_imagenet_weights("resnet18")  # already cached: checked, not fetched again
        gets = [r for r in server.requests if r[0] == "GET"]
        assert len(gets) == 1
        path.write_bytes(b"a file copied in by hand, damaged")
        fetch_imagenet_weights("resnet18")  # its hash does not match the name: fetched again
        assert len([r for r in server.requests if r[0] == "GET"]) == 2
    assert path == again == hub.folder / hub.name and path.read_bytes() == hub.data
    assert not list(hub.folder.glob("*.part"))
    assert calls[0] == (0, len(hub.data)) and calls[-1] == (len(hub.data), len(hub.data))
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert imagenet_unavailable_reason("resnet18") is None and weights_status("resnet18") == IMAGENET_CACHED
    net = get_model("resnet18", in_channels=3, num_classes=5, input_size=128, pretrained=True)
    assert torch.equal(net.conv1.weight, tiny_state_dict()["conv1.weight"])
    assert net.medlearn_weights_detail.startswith("4 of ")  # the four tensors served; the rest random


def test_a_damaged_download_never_reaches_the_cache(hub, monkeypatch):
    damaged = hub.data[:-10] + b"0123456789"  # same size, another hash
    with serving({f"/{hub.name}": damaged}) as (url, _):
        monkeypatch.setenv(WEIGHTS_BASE_ENV, url)
        with pytest.raises(MedlearnInputError, match="damaged"):
            fetch_imagenet_weights("resnet18")
    assert not hub.folder.exists() or not list(hub.folder.iterdir())  # neither the file nor a .part
    assert imagenet_unavailable_reason("resnet18") is not None


def test_offline_the_reason_is_plain_and_nothing_is_written(hub, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: the "internet" refuses at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(WEIGHTS_BASE_ENV, f"http://127.0.0.1:{port}")
    with pytest.raises(MedlearnInputError, match=f"cannot reach 127.0.0.1:{port} \\(no internet") as err:
        fetch_imagenet_weights("resnet18", probe_timeout=1.0)
    assert "https://download.pytorch.org/models/" in str(err.value) and str(hub.folder) in str(err.value)
    assert not hub.folder.exists() or not list(hub.folder.iterdir())


def test_a_missing_file_on_the_server_is_a_readable_error(hub, monkeypatch):
    with serving({}) as (url, _):
        monkeypatch.setenv(WEIGHTS_BASE_ENV, url)
        with pytest.raises(MedlearnInputError, match="HTTP 404"):
            fetch_imagenet_weights("resnet18")


def test_the_command_line_says_size_and_licence_then_downloads(hub, monkeypatch, capsys):
    from medlearn.cli import main

    with serving({f"/{hub.name}": hub.data}) as (url, _):
        monkeypatch.setenv(WEIGHTS_BASE_ENV, url)
        assert main(["fetch", "imagenet-resnet18"]) == 0
    out = capsys.readouterr().out
    assert f"ResNet-18: torchvision's ImageNet weights ({hub.name}" in out and "127.0.0.1" in out
    assert "non-commercial research and educational purposes" in out and "Saved and checked" in out
    assert (hub.folder / hub.name).read_bytes() == hub.data
    assert main(["fetch", "imagenet-unet"]) == 2  # no weights exist: one error line
    assert "no ImageNet weights exist" in capsys.readouterr().err
