"""The download offer (ui.predict.dataset_download) in the page: offline, it says so and shows the
command-line alternatives; online (a 127.0.0.1 server serving the mirror's official
RetinaMNIST file), one click downloads it and the next default model trains on it."""

from __future__ import annotations

import functools
import socket
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from streamlit.testing.v1 import AppTest

from medlearn.data import home
from medlearn.data.sources.download import BASE_ENV

RETINA = "diabetic_retinopathy_fundus/retinamnist"
PANEL = "**⬇️ Real images for this case, free to download**"


def _panel():
    """The panel as the first-visit section mounts it: after the cached choice of training data."""
    from medlearn.cases import get_case
    from ui.shared.data_choice import best_source
    from ui.predict.dataset_download import render_download_offer

    best_source(get_case("retina"))  # cached for a minute: "phantoms" until the download clears it
    render_download_offer(get_case("retina"))


@contextmanager
def _serving(folder):
    """``folder`` over HTTP on 127.0.0.1 (GET and HEAD); the server stops when the block ends."""
    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda self, *a: None})
    with ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(folder))) as server:
        worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        worker.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            worker.join(timeout=5)


@pytest.fixture
def not_here(monkeypatch, tmp_path):
    """The mirror and ~/.medmnist hidden (RetinaMNIST is not on this machine); no remembered probe."""
    from ui.predict.dataset_download import reachable

    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)
    monkeypatch.setattr(home.Path, "home", lambda: tmp_path)
    reachable.clear()


@pytest.fixture
def no_retina(mirror, not_here):
    """The mirror's path, read before the mirror is hidden: what the local server serves."""
    return mirror


@pytest.fixture
def offline(not_here, monkeypatch):
    """Downloads go to a 127.0.0.1 port nobody listens on: the "internet" refuses at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv(BASE_ENV, f"http://127.0.0.1:{s.getsockname()[1]}")


def _texts(at) -> str:
    """Markdown, captions, warnings and successes, as one string without plain()'s escapes."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                      + [w.value for w in at.warning] + [s.value for s in at.success]).replace("\\", "")


def test_offline_the_panel_says_so_and_shows_the_alternatives(offline):
    at = AppTest.from_function(_panel, default_timeout=60).run()
    assert not at.exception
    shown = _texts(at)
    assert PANEL in shown and "RetinaMNIST" in shown and "about 3.3 MB" in shown and "CC BY 4.0" in shown
    assert "Please cite: Yang J" in shown
    warning = at.warning[0].value.replace("\\", "")
    assert "cannot reach 127.0.0.1" in warning and "download `retinamnist.npz` from https://zenodo.org/" in warning
    assert "python -m medlearn fetch retinamnist --from FOLDER" in warning
    assert [b.label for b in at.button] == ["Check the connection again"]


def test_one_click_downloads_the_dataset_and_the_next_model_trains_on_it(no_retina, monkeypatch):
    with _serving(no_retina) as url:
        monkeypatch.setenv(BASE_ENV, f"{url}/{RETINA}")
        at = AppTest.from_function(_panel, default_timeout=60).run()
        assert not at.exception and "3.3 MB" in _texts(at) and "about" not in _texts(at)  # exact size
        at.button(key="download.retina.retinamnist.go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert (home.dataset_dir("medmnist") / "retinamnist.npz").stat().st_size == 3291041
    done = at.success[0].value
    assert "is downloaded and verified" in done and "trains on real images (RetinaMNIST" in done
    assert PANEL not in _texts(at) and not at.button  # nothing left to offer


def test_the_first_visit_panel_offers_the_download(offline, open_page, close_jobs):
    at = open_page("retina")
    section = at.segmented_control(key="retina.section")
    section.set_value(next(o for o in section.options if "Predict" in o)).run()
    assert not at.exception
    assert any("No trained model" in i.value and "synthetic phantoms" in i.value for i in at.info), \
        [i.value for i in at.info]
    assert PANEL in _texts(at) and any(b.key == "predict.retina.download.retinamnist.retry" for b in at.button)


def test_a_damaged_download_shows_the_reason_and_offers_it_again(no_retina, monkeypatch, tmp_path):
    official = (no_retina / RETINA / "retinamnist.npz").read_bytes()
    served = tmp_path / "served"
    served.mkdir()
    (served / "retinamnist.npz").write_bytes(official[:-1] + bytes([official[-1] ^ 1]))
    with _serving(served) as url:
        monkeypatch.setenv(BASE_ENV, url)
        at = AppTest.from_function(_panel, default_timeout=60).run()
        at.button(key="download.retina.retinamnist.go").click().run()
    assert not at.exception and "is damaged" in at.error[0].value and not at.success
    assert not home.dataset_dir("medmnist").joinpath("retinamnist.npz").exists()
    assert any(b.key == "download.retina.retinamnist.go" for b in at.button)  # try again
