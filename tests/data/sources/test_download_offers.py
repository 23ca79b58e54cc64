"""Offering a case's open datasets: what is listed (size, licence, citation), the online
probe, and the real RetinaMNIST file downloaded from a local server that serves the mirror
(``MEDLEARN_DOWNLOAD_BASE``): progress, resume of a ``.part``, checksum and disk-space errors."""

import time

import pytest

from medlearn.cases import get_case
from medlearn.data import home
from medlearn.data.sources import download as dl
from medlearn.data.sources import get_source
from medlearn.data.sources.choice import default_source, download_offers
from medlearn.errors import DatasetUnavailableError

RETINA = "diabetic_retinopathy_fundus/retinamnist"  # the official file, byte for byte


@pytest.fixture
def not_here(monkeypatch, tmp_path):
    """Hide the mirror and any ~/.medmnist: no open dataset is on this machine."""
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)
    monkeypatch.setattr(home.Path, "home", lambda: tmp_path)


@pytest.fixture
def official(mirror, not_here):
    """The mirror's retinamnist.npz as bytes (read before the mirror is hidden)."""
    return (mirror / RETINA / "retinamnist.npz").read_bytes()


@pytest.fixture
def mirror_server(official, http_server, monkeypatch):
    """A 127.0.0.1 server holding the mirror's file at its mirror path; downloads go to it."""
    with http_server({f"/{RETINA}/retinamnist.npz": official}) as (url, server):
        monkeypatch.setenv(dl.BASE_ENV, f"{url}/{RETINA}/")
        yield server


def test_offers_list_missing_open_datasets_with_size_licence_and_citation(not_here):
    assert [s.name for s in download_offers(get_case("retina"))] == ["retinamnist"]
    assert [s.name for s in download_offers(get_case("hippocampus"))] == ["msd_hippocampus"]
    assert download_offers(get_case("heart")) == []  # Sunnybrook is an import, not a download
    retina, msd = get_source("retinamnist"), get_source("msd_hippocampus")
    assert retina.licence == "CC BY 4.0" and "MedMNIST v2" in retina.citation
    assert msd.licence == "CC BY-SA 4.0" and "Decathlon" in msd.citation
    remote = retina.remote_file()
    assert remote.name == "retinamnist.npz" and remote.official_url.startswith("https://zenodo.org/")
    assert remote.dest == home.dataset_dir("medmnist") / "retinamnist.npz" and remote.approx_mb == 3.3
    assert msd.remote_file().name == "Task04_Hippocampus.tar" and msd.remote_file().approx_mb == 27


def test_a_mirrored_dataset_is_not_offered(mirror):
    assert download_offers(get_case("retina")) == []


def test_base_url_replaces_the_official_host(monkeypatch):
    remote = get_source("breastmnist").remote_file()
    monkeypatch.setenv(dl.BASE_ENV, "http://127.0.0.1:9/mirror/")
    assert remote.url == "http://127.0.0.1:9/mirror/breastmnist.npz"
    monkeypatch.delenv(dl.BASE_ENV)
    assert remote.url == remote.official_url


def test_probe_gives_the_exact_size_or_none_quickly_when_offline(mirror_server, official, closed_port):
    remote = get_source("retinamnist").remote_file()
    assert dl.probe(remote.url) == len(official)
    assert remote.approx_mb == pytest.approx(len(official) / 1e6, rel=0.05)  # the estimate is honest
    start = time.monotonic()
    assert dl.probe(f"http://127.0.0.1:{closed_port}/x.npz", timeout=1.0) is None
    assert time.monotonic() - start < 1.5


def test_download_reports_progress_and_becomes_the_default_training_data(mirror_server, official):
    source, calls = get_source("retinamnist"), []
    assert default_source(get_case("retina")) == "phantoms"
    source.fetch(lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, len(official)) and calls[-1] == (len(official), len(official)) and len(calls) > 10
    assert source.availability() == "data home 28px" and download_offers(get_case("retina")) == []
    assert default_source(get_case("retina")) == "retinamnist"
    assert len(source.load("retina", "train")) == 1080


def test_an_interrupted_download_resumes_from_its_part_file(mirror_server, official):
    remote = get_source("retinamnist").remote_file()
    remote.dest.parent.mkdir(parents=True)
    dl.part_path(remote.dest).write_bytes(official[:1_000_000])
    assert remote.partial_bytes == 1_000_000
    calls = []
    get_source("retinamnist").fetch(lambda done, total: calls.append((done, total)))
    assert mirror_server.ranges == ["bytes=1000000-"] and calls[0] == (1_000_000, len(official))
    assert remote.dest.read_bytes() == official and remote.partial_bytes == 0


def test_a_damaged_download_is_deleted_and_explained(official, http_server, monkeypatch):
    damaged = official[:-1] + bytes([official[-1] ^ 1])
    with http_server({"/retinamnist.npz": damaged}) as (url, _):
        monkeypatch.setenv(dl.BASE_ENV, url)
        with pytest.raises(DatasetUnavailableError, match="damaged"):
            get_source("retinamnist").fetch()
    remote = get_source("retinamnist").remote_file()
    assert not remote.dest.exists() and remote.partial_bytes == 0
    assert not get_source("retinamnist").is_available()


def test_a_full_disk_is_refused_before_writing(mirror_server, monkeypatch):
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda folder: type("Usage", (), {"free": 1000})())
    with pytest.raises(DatasetUnavailableError, match="Not enough free disk space.*3.3 MB"):
        get_source("retinamnist").fetch()
    assert get_source("retinamnist").remote_file().partial_bytes == 0


def test_offline_fetch_says_so(not_here, closed_port, monkeypatch):
    monkeypatch.setenv(dl.BASE_ENV, f"http://127.0.0.1:{closed_port}")
    with pytest.raises(DatasetUnavailableError, match="offline"):
        get_source("retinamnist").fetch()
