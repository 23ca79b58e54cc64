"""A classroom: N browser sessions upload an image and get a prediction with Grad-CAM at
once, while one training run goes on in a worker process.

Each session is a Chromium page on the real app (a case page's Predict section, image
source "Upload"). Session ``i`` uploads phantom ``i``; the answer it should show (class
and percentage) is computed beforehand in this process with the same checkpoint, and
the uploads are chosen so that every expected answer differs: a session showing another
session's result fails the check. Answer time runs from handing the file to the
uploader until the answer is drawn (the script run over, nothing stale, no spinner).

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
from bench.serve import RunWatcher, StreamlitServer, launch, wait_drawn


@dataclass(frozen=True)
class PredictUI:
    """Where the Predict section's controls and answer are (adapt here when the UI changes)."""

    case: str = "breast"
    query: str = "?section=predict"  # a link that opens the Predict section
    section: str = "Predict"  # the case page's section button (clicked if the link did not open it)
    source: str = "Upload"  # the "Image" radio option
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


async def _prepare(page, watcher: RunWatcher, url: str, ui: PredictUI, title: str) -> None:
    """Open the case page's Predict section and choose the upload option (one retry)."""
    for attempt in (1, 2):
        try:
            since = watcher.finished
            await page.goto(f"{url}/{ui.case}{ui.query}")
            await wait_drawn(page, watcher, title, since)
            section = page.locator('[data-testid="stMain"] button', has_text=ui.section).first
            if await section.get_attribute("aria-checked") != "true":  # the link did not open it
                await _click(section, watcher, title)
            await _click(page.locator('[data-testid="stRadio"] label', has_text=ui.source), watcher, title)
            await page.locator(ui.uploader).wait_for(state="attached")
            return
        except Exception as exc:  # a slow machine: reload once, then give up saying what the page shows
            if attempt == 2:
                shown = await page.locator('[data-testid="stMain"]').inner_text(timeout=10_000)
                raise RuntimeError(f"session not ready ({exc!s:.300}); "
                                   f"the page ends: {shown[-600:]!r}") from exc


async def _click(locator, watcher: RunWatcher, title: str) -> None:
    since = watcher.finished
    await locator.first.click()
    await wait_drawn(locator.page, watcher, title, since)


async def _ask(page, watcher: RunWatcher, ui: PredictUI, upload: Path, expected, timeout_s: float) -> Answer:
    """Upload one file and wait for the answer; what it shows, or what went wrong."""
    since, exceptions, t0 = watcher.finished, watcher.exceptions, time.perf_counter()
    try:
        await page.set_input_files(ui.uploader, str(upload))
        drawn = await wait_drawn(page, watcher, ui.answer_text, since, ui.answer, timeout_s=timeout_s)
    except Exception as exc:  # a timeout or a broken page is a counted error, not a crash
        return Answer((time.perf_counter() - t0) * 1000, error=f"{type(exc).__name__}: {exc}"[:200],
                      expected=expected)
    ms = (drawn - t0) * 1000
    boxes = await page.locator(ui.errors).count()
    if boxes or watcher.exceptions > exceptions:
        return Answer(ms, error=f"{boxes} error box(es) on the page", expected=expected)
    texts = await page.locator(ui.answer).all_inner_texts()
    match = next((m for m in (re.search(ui.answer_re, t) for t in texts) if m), None)
    shown = (match.group(1).strip("* "), int(match.group(2))) if match else None
    model_ms = re.search(ui.latency_re, await page.locator('[data-testid="stMain"]').inner_text())
    return Answer(ms, shown, None if match else f"no answer in {texts!r}"[:200], expected,
                  {"predictor_ms": int(model_ms.group(1)) if model_ms else None})


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
    from medlearn.cases import get_case
    from medlearn.data.phantoms import generate
    from medlearn.predict import prepare
    from medlearn.train.checkpoints import load_checkpoint, save_checkpoint

    case = get_case(case_key)
    model, meta = load_checkpoint(path)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    feats = []
    hook = last.register_forward_hook(lambda m, inp, out: feats.append(inp[0].detach().flatten(1)))
    with torch.inference_mode():
        for ph in generate(case_key, n=n, seed=10_000, size=128):
            model(prepare(ph.image, case, meta, torch.device("cpu")).x)
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


async def _sessions(browser, url: str, n: int, ui: PredictUI, title: str) -> list:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(120_000)  # 20 pages on two busy cores: clicks can wait long
    pages = [await context.new_page() for _ in range(n)]
    watchers = [RunWatcher(p) for p in pages]
    for start in range(0, n, 4):  # open a few at a time: the machine has two cores
        batch = range(start, min(n, start + 4))
        await asyncio.gather(*(_prepare(pages[i], watchers[i], url, ui, title) for i in batch))
    return list(zip(pages, watchers))


async def _classroom(server, n: int, ui: PredictUI, uploads, timeout_s: float, manager, job) -> dict:
    from playwright.async_api import async_playwright

    from medlearn.cases import get_case

    title = get_case(ui.case).title
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            (page, watcher), = await _sessions(browser, server.url, 1, ui, title)  # warm-up: model load, CAM
            warm = await _ask(page, watcher, ui, uploads[0][0], uploads[0][1], timeout_s)
            await page.context.close()
            sessions = await _sessions(browser, server.url, n, ui, title)
            batches0 = len(manager.metrics(job, kind="batch"))
            alone = [await _ask(pg, w, ui, path, exp, timeout_s)
                     for (pg, w), (path, exp) in zip(sessions, uploads)]
            await sessions[0][0].context.close()
            sessions = await _sessions(browser, server.url, n, ui, title)
            batches1 = len(manager.metrics(job, kind="batch"))
            together = await asyncio.gather(*(_ask(pg, w, ui, path, exp, timeout_s)
                                              for (pg, w), (path, exp) in zip(sessions, uploads)))
            batches2 = len(manager.metrics(job, kind="batch"))
        finally:
            await browser.close()
    return {"warm": warm, "alone": alone, "together": list(together), "rss": server.rss(),
            "training_batches": (batches1 - batches0, batches2 - batches1), "training": manager.status(job)}


def _rows(result: dict, n: int) -> list[Row]:
    alone, together = result["alone"], result["together"]
    ta, tt = Timing([a.ms for a in alone]), Timing([a.ms for a in together])
    errors = [a.error for a in alone + together if a.error]
    own = sum(a.own for a in together)
    during_seq, during_class = result["training_batches"]
    label = f"{n} sessions upload->answer+CAM, training on"
    return [
        Row("classroom", f"{label}: p95", tt.p95, "ms p95", baseline=ta.p95, ratio=tt.p95 / ta.p95,
            target="<= 2000 ms", ok=tt.p95 <= 2000,
            extra={"median_ms": tt.median, "alone_median_ms": ta.median, "samples_ms": tt.samples_ms,
                   "predictor_ms": [a.extra.get("predictor_ms") for a in together],
                   "alone_samples_ms": ta.samples_ms, "warm_up": result["warm"].__dict__}),
        Row("classroom", f"{label}: median", tt.median, "ms median", baseline=ta.median,
            ratio=tt.median / ta.median, target="report"),
        Row("classroom", "errors (exceptions, error boxes, timeouts)", len(errors), "count", target="== 0",
            ok=not errors, extra={"errors": errors[:10]}),
        Row("classroom", "sessions showing their own answer", own, f"of {n}", target=f"== {n}", ok=own == n,
            extra={"shown": [a.shown for a in together], "expected": [a.expected for a in together]}),
        Row("classroom", "training batches while the classroom ran", during_class, "batches",
            baseline=during_seq, target="> 0 (training went on)", ok=during_class > 0,
            extra={"status_after": result["training"], "server_rss_gb": result["rss"] / 1024 ** 3}),
    ]


async def _run(sessions: int, timeout_s: float, ui: PredictUI) -> list[Row]:
    from medlearn.cases import get_case

    from bench.bench_app import seed_models

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        checkpoint = seed_models(home, [get_case(ui.case)])[ui.case]
        spread_checkpoint(checkpoint, ui.case, Path(tmp))
        uploads = await asyncio.to_thread(_upload_files, ui, checkpoint, sessions, Path(tmp))
        manager, job = _start_training(home)
        try:
            with StreamlitServer("app.py", env={"MEDLEARN_HOME": str(home)}) as server:
                await _training_started(manager, job)
                result = await asyncio.wait_for(
                    _classroom(server, sessions, ui, uploads, 60.0, manager, job), timeout_s)
        finally:
            manager.close(timeout=10)
    return _rows(result, sessions)


def run(sessions: int = 20, timeout_s: float = 900.0, ui: PredictUI | None = None) -> list[Row]:
    """The classroom with ``sessions`` browser sessions; gives up after ``timeout_s`` seconds."""
    torch.set_num_threads(1)
    return asyncio.run(_run(sessions, timeout_s, ui or PredictUI()))
