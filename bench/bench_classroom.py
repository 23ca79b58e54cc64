"""A classroom: N sessions upload an image and get a prediction with Grad-CAM at once,
while one training run goes on in a worker process.

Each session opens the real app's case page on its Predict section, image source
"Upload". By default a session speaks Streamlit's websocket protocol as a browser tab
does (``bench.st_client``: script runs, the upload through ``/_stcore/upload_file``, the
answer's pictures fetched), so the server does exactly the work 20 tabs give it while
the two cores are not spent rendering 20 tabs, which a real classroom does on 20
laptops; ``--driver browser`` drives Chromium tabs instead (``bench.classroom_browser``).
Session ``i`` uploads phantom ``i``; the answer it should show (class and percentage)
is computed beforehand in this process with the same checkpoint, and the uploads are
chosen so that every expected answer differs: a session showing another session's
result fails the check. Answer time runs from handing the file to the uploader until
the run that answers is over and its pictures are fetched (browser: drawn, nothing
stale, no spinner).

Baseline: the same N requests one after the other, each session alone (ratio of p95).
Target: p95 <= 2 s, zero errors, every session shows its own answer. A hard timeout
bounds the whole run; the server, browser and training worker are always stopped.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.common import Row, Timing
from bench.serve import ENTRY, StreamlitServer
from bench.st_client import Session


@dataclass(frozen=True)
class PredictUI:
    """Where the Predict section's controls and answer are (adapt here when the UI changes)."""

    case: str = "breast"
    query: str = "?section=predict"  # a link that opens the Predict section
    section: str = "Predict"  # the case page's section button (clicked if the link did not open it)
    source: str = "Upload"  # the "Image" radio option
    source_label: str = "Image"
    uploader_label: str = "Upload an image"
    uploader: str = '[data-testid="stFileUploaderDropzoneInput"]'
    answer: str = "h3"  # "Model: benign or normal (73%)"
    answer_text: str = "Model:"
    answer_re: str = r"Model:\s*(.+?)\s*\((\d+)%\)"
    latency_re: str = r"Answered in (\d+) ms"  # the predictor's own time, shown in a caption
    errors: str = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@dataclass
class Answer:
    ms: float
    shown: tuple[str, int] | None = None
    error: str | None = None
    expected: tuple[str, int] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def own(self) -> bool:
        return self.error is None and self.shown == self.expected


def _upload_files(ui: PredictUI, checkpoint: Path, n: int, folder: Path) -> list[tuple[Path, tuple]]:
    """``n`` phantom PNGs whose expected answers (class, whole percent) all differ."""
    from medlearn.data.io import read_image, save_image
    from medlearn.data.phantoms import generate
    from medlearn.predict import Predictor

    predictor, chosen, seen = Predictor(device="cpu"), [], set()
    for seed in range(40 * n):
        path = folder / f"{ui.case}_{seed:03d}.png"
        save_image(generate(ui.case, n=1, seed=seed, size=128)[0].image, path)
        pred = predictor.predict(ui.case, read_image(path.read_bytes(), path.name), explain="gradcam",
                                 checkpoint=checkpoint)
        p = pred.probabilities[pred.prediction] * 100
        key = (pred.prediction, int(round(p)))
        if abs(p - round(p)) < 0.4 and key not in seen:  # far from a rounding edge, and unique
            seen.add(key)
            chosen.append((path, key))
            if len(chosen) == n:
                return chosen
    raise RuntimeError(f"only {len(chosen)} distinguishable uploads found for {n} sessions")


def spread_checkpoint(path: Path, case_key: str, folder: Path, n: int = 64) -> None:
    """Re-aim a fresh network's last linear layer along the main direction in which its
    features vary over ``n`` phantoms, so that answers differ between images (fresh
    weights answer about 51 % for every image). Latency does not depend on the weights."""
    from medlearn.data.phantoms import generate
    from medlearn.card import card_of
    from medlearn.predict import prepare
    from medlearn.train.checkpoints import load_checkpoint, save_checkpoint

    model, meta = load_checkpoint(path)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    feats = []
    hook = last.register_forward_hook(lambda m, inp, out: feats.append(inp[0].detach().flatten(1)))
    with torch.inference_mode():
        for ph in generate(case_key, n=n, seed=10_000, size=128):
            model(prepare(ph.image, card_of(meta), torch.device("cpu")).x)
    hook.remove()
    f = torch.cat(feats).double()
    mean = f.mean(0)
    v = torch.linalg.svd(f - mean, full_matrices=False).Vh[0]
    scale = 2.0 / float(((f - mean) @ v).std())  # logit gap of +-2 sd: 2 % to 98 %
    with torch.no_grad():
        last.weight.zero_(), last.bias.zero_()
        last.weight[0], last.weight[1] = (v * scale / 2).float(), (-v * scale / 2).float()
        last.bias[0], last.bias[1] = float(-(mean @ v) * scale / 2), float((mean @ v) * scale / 2)
    save_checkpoint(model, meta, path)


def _start_training(home: Path):
    """One background training run (the Left-ventricle U-Net recipe on phantoms, long
    enough to outlast the classroom; stopped at the end). Returns (manager, job id)."""
    from medlearn.train.jobs import JobManager
    from medlearn.train.store import RunStore

    manager = JobManager(RunStore(home / "runs.sqlite"), max_workers=1)
    job = manager.submit("heart", "unet", "phantoms", epochs=500, n_train=32, n_val=4,
                         checkpoint_root=str(home / "training"))
    return manager, job


async def _training_started(manager, job: int, timeout_s: float = 180.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not manager.metrics(job, kind="batch"):
        if manager.status(job) not in ("queued", "running") or time.perf_counter() > deadline:
            raise RuntimeError(f"the training run did not start: {manager.status(job)}, "
                               f"{manager.job(job).error}")
        await asyncio.sleep(0.5)


def read_answer(texts: list[str], ui: PredictUI) -> tuple[tuple[str, int] | None, int | None]:
    """(class, percent) of the answer heading and the predictor's own milliseconds, from the page's texts."""
    match = next((m for m in (re.search(ui.answer_re, t) for t in texts) if m), None)
    shown = (match.group(1).strip("* "), int(match.group(2))) if match else None
    model_ms = next((m for m in (re.search(ui.latency_re, t) for t in texts) if m), None)
    return shown, int(model_ms.group(1)) if model_ms else None


class ProtocolDriver:
    """Sessions that speak Streamlit's websocket protocol (``bench.st_client``), as a tab
    does on the wire: the server does all the work it does for a browser (script runs,
    uploads, the pictures fetched), and the machine's two cores are not spent rendering
    20 tabs, which a classroom does on 20 laptops."""

    def __init__(self, url: str, ui: PredictUI, timeout_s: float):
        self.url, self.ui, self.timeout_s = url, ui, timeout_s

    async def __aenter__(self) -> "ProtocolDriver":
        return self

    async def __aexit__(self, *exc) -> None:
        return None

    async def _prepare(self) -> Session:
        ui = self.ui
        session = Session(self.url, ui.case, ui.query.lstrip("?"))
        await session.connect(timeout_s=120)
        await session.rerun(session.choose(ui.source_label, ui.source), timeout_s=120)
        session.widget("file_uploader", ui.uploader_label)  # raises if the uploader is not there
        return session

    async def open(self, n: int) -> list[Session]:
        sessions = []
        for start in range(0, n, 4):  # a few at a time, as students arrive
            sessions += await asyncio.gather(*(self._prepare() for _ in range(start, min(n, start + 4))))
        return sessions

    async def ask(self, session: Session, upload: Path, expected) -> Answer:
        t0 = time.perf_counter()
        try:
            state = await session.upload(self.ui.uploader_label, upload.name, upload.read_bytes(), "image/png")
            run = await session.rerun(state, timeout_s=self.timeout_s)
            await session.fetch_media(run)
        except Exception as exc:  # a timeout or a refused upload is a counted error, not a crash
            return Answer((time.perf_counter() - t0) * 1000, error=f"{type(exc).__name__}: {exc}"[:200],
                          expected=expected)
        ms = (time.perf_counter() - t0) * 1000
        if run.exceptions or run.errors:
            return Answer(ms, error=f"{run.exceptions + run.errors}"[:200], expected=expected)
        shown, model_ms = read_answer(run.texts(), self.ui)
        return Answer(ms, shown, None if shown else f"no answer in {run.texts()[-6:]!r}"[:200], expected,
                      {"predictor_ms": model_ms})

    async def release(self, sessions: list[Session]) -> None:
        await asyncio.gather(*(s.close() for s in sessions))


async def _classroom(driver, n: int, uploads, manager, job, server_cpu=lambda: 0.0) -> dict:
    """Warm-up, then the ``n`` requests one after the other (each session alone), then all at once.
    ``server_cpu()`` reads the server's CPU seconds (how much of the burst was the server's work)."""
    async with driver:
        first = await driver.open(1)  # warm-up: model load, CAM
        warm = await driver.ask(first[0], *uploads[0])
        await driver.release(first)
        sessions = await driver.open(n)
        batches0 = len(manager.metrics(job, kind="batch"))
        alone = [await driver.ask(s, path, exp) for s, (path, exp) in zip(sessions, uploads)]
        await driver.release(sessions)
        sessions = await driver.open(n)
        batches1, cpu0, t0 = len(manager.metrics(job, kind="batch")), server_cpu(), time.perf_counter()
        together = await asyncio.gather(*(driver.ask(s, path, exp) for s, (path, exp) in zip(sessions, uploads)))
        batches2, cpu1, t1 = len(manager.metrics(job, kind="batch")), server_cpu(), time.perf_counter()
        await driver.release(sessions)
    return {"warm": warm, "alone": alone, "together": list(together),
            "training_batches": (batches1 - batches0, batches2 - batches1), "training": manager.status(job),
            "burst": {"wall_s": t1 - t0, "server_cpu_s": cpu1 - cpu0}}


def _rows(result: dict, n: int, driver: str = "protocol") -> list[Row]:
    alone, together = result["alone"], result["together"]
    ta, tt = Timing([a.ms for a in alone]), Timing([a.ms for a in together])
    errors = [a.error for a in alone + together if a.error]
    own = sum(a.own for a in together)
    during_seq, during_class = result["training_batches"]
    burst = result.get("burst")
    label = f"{n} {driver} sessions upload->answer+CAM, training on"
    return [
        Row("classroom", f"{label}: p95", tt.p95, "ms p95", baseline=ta.p95, ratio=tt.p95 / ta.p95,
            target="<= 2000 ms", ok=tt.p95 <= 2000,
            extra={"median_ms": tt.median, "alone_median_ms": ta.median, "samples_ms": tt.samples_ms,
                   "predictor_ms": [a.extra.get("predictor_ms") for a in together],
                   "alone_samples_ms": ta.samples_ms, "warm_up": result["warm"].__dict__,
                   "burst": result.get("burst")}),
        Row("classroom", f"{label}: median", tt.median, "ms median", baseline=ta.median,
            ratio=tt.median / ta.median, target="report"),
        Row("classroom", "errors (exceptions, error boxes, timeouts)", len(errors), "count", target="== 0",
            ok=not errors, extra={"errors": errors[:10]}),
        Row("classroom", "sessions showing their own answer", own, f"of {n}", target=f"== {n}", ok=own == n,
            extra={"shown": [a.shown for a in together], "expected": [a.expected for a in together]}),
        *([Row("classroom", f"server CPU while the {n} answers were made (share of one core)", burst["server_cpu_s"],
               "CPU s", baseline=burst["wall_s"], ratio=burst["server_cpu_s"] / max(burst["wall_s"], 1e-9),
               target="report")] if burst else []),
        Row("classroom", "training batches while the classroom ran", during_class, "batches",
            baseline=during_seq, target="> 0 (training went on)", ok=during_class > 0,
            extra={"status_after": result["training"], "server_rss_gb": result["rss"] / 1024 ** 3}),
    ]


async def _run(sessions: int, timeout_s: float, ui: PredictUI, driver: str) -> list[Row]:
    from medlearn.cases import get_case

    from bench.bench_app import seed_models

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        checkpoint = seed_models(home, [get_case(ui.case)])[ui.case]
        spread_checkpoint(checkpoint, ui.case, Path(tmp))
        uploads = await asyncio.to_thread(_upload_files, ui, checkpoint, sessions, Path(tmp))
        manager, job = _start_training(home)
        try:
            with StreamlitServer(ENTRY, env={"MEDLEARN_HOME": str(home)}) as server:
                await _training_started(manager, job)
                result = await asyncio.wait_for(
                    _classroom(make_driver(driver, server.url, ui), sessions, uploads, manager, job, server.cpu),
                    timeout_s)
                result["rss"] = server.rss()
        finally:
            manager.close(timeout=10)
    return _rows(result, sessions, driver)


def make_driver(name: str, url: str, ui: PredictUI, timeout_s: float = 60.0):
    """``"protocol"`` (websocket sessions, the default) or ``"browser"`` (Chromium tabs)."""
    if name == "browser":
        from bench.classroom_browser import BrowserDriver
        from medlearn.cases import get_case

        return BrowserDriver(url, ui, timeout_s, get_case(ui.case).title if ui.case else "")
    if name != "protocol":
        raise ValueError(f"unknown classroom driver {name!r}: protocol or browser")
    return ProtocolDriver(url, ui, timeout_s)


def run(sessions: int = 20, timeout_s: float = 900.0, ui: PredictUI | None = None,
        driver: str = "protocol") -> list[Row]:
    """The classroom with ``sessions`` sessions; gives up after ``timeout_s`` seconds."""
    torch.set_num_threads(1)
    return asyncio.run(_run(sessions, timeout_s, ui or PredictUI(), driver))


if __name__ == "__main__":
    import argparse

    from bench.common import format_table, write_results

    ap = argparse.ArgumentParser(description="The classroom benchmark alone.")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--driver", choices=("protocol", "browser"), default="protocol")
    ap.add_argument("--save", action="store_true", help="write bench/results/classroom.json")
    args = ap.parse_args()
    rows = run(args.sessions, driver=args.driver)
    print(format_table(rows))
    if args.save:
        write_results("classroom", rows)
