"""Server memory under large uploads (issue 12): N sessions each upload a big NIfTI volume
on "Try your own image", first one after another, then all together.

Each phase runs on a fresh server (same start for both). A session speaks Streamlit's
websocket protocol as a browser tab does (``bench.st_client``): opens the page, uploads
the file through ``/_stcore/upload_file``, reruns with the uploader's value and keeps its
connection (20 students stay on the page: what their sessions keep counts). The server's
memory is the resident set of its whole process tree (``bench.serve.rss_bytes``), sampled
every 50 ms; a session is *refused* when its run shows an error box instead of the
image, *explained* when that box says why.

Baseline: the same server with one session on the page and no upload. Target: peak
<= 2.5 GB with every refusal explained and no session lost (exception, timeout, or
neither the image nor a reason). A guard stops a phase once the server tree passes
``max_gb`` (the machine is shared), which counts as a miss.

``profile_read`` measures in this process what each step of the upload path holds
(peak and retained, from ``/proc/self/status`` ``VmHWM``/``VmRSS``), for the report.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import Row
from bench.serve import ENTRY, StreamlitServer, descendants, rss_bytes
from bench.st_client import Session

GB = 1024 ** 3
MB = 1024 ** 2
TARGET_GB = 2.5


@dataclass(frozen=True)
class UploadUI:
    """Where the upload page's controls are (adapt here when the UI changes)."""

    page: str = "try"  # url path of "Try your own image"
    uploader_label: str = "Upload an image"
    read_marker: str = "What MedLearn read"  # shown once a file was read


@dataclass
class Outcome:
    """What one session saw after its upload."""

    seconds: float = 0.0
    read: bool = False  # the page shows what was read
    refusal: str | None = None  # the error box's text, when the upload was refused
    error: str | None = None  # exception, timeout, dropped connection, or nothing shown

    @property
    def explained(self) -> bool:
        return self.read or bool(self.refusal and self.refusal.strip())


def nifti_volume(mb: float, shape_z: int = 64) -> bytes:
    """An uncompressed float32 NIfTI volume of about ``mb`` MB (``MB`` = 2**20 bytes) with a
    bright ball in noise, as bytes."""
    import nibabel as nib

    side = int(round((mb * MB / 4 / shape_z) ** 0.5))
    rng = np.random.default_rng(0)
    z, y, x = np.ogrid[:shape_z, :side, :side]
    ball = ((z - shape_z / 2) / (shape_z / 3)) ** 2 + ((y - side / 2) / (side / 3)) ** 2 + \
           ((x - side / 2) / (side / 3)) ** 2 < 1
    vol = rng.normal(100, 20, (side, side, shape_z)).astype(np.float32)
    vol += 400 * ball.transpose(1, 2, 0)
    img = nib.Nifti1Image(vol, np.diag([0.8, 0.8, 2.0, 1.0]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.nii"
        nib.save(img, path)
        return path.read_bytes()


class PeakSampler:
    """Samples the resident memory of ``pid``'s process tree every ``every_s`` in a thread;
    calls ``over()`` once if it passes ``cap`` bytes."""

    def __init__(self, pid: int, every_s: float = 0.05, cap: float | None = None, over=None):
        self.pid, self.every_s, self.cap, self.over = pid, every_s, cap, over
        self.peak = self.last = 0
        self.capped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last = rss_bytes(self.pid)
            self.peak = max(self.peak, self.last)
            if self.cap and self.last > self.cap and not self.capped:
                self.capped = True
                if self.over:
                    self.over()
            self._stop.wait(self.every_s)


async def upload_once(url: str, ui: UploadUI, name: str, data: bytes, timeout_s: float,
                      alive=lambda: True) -> tuple[Session, Outcome]:
    """One session: open the page, upload, rerun; the session stays open (returned). Gives up
    as soon as ``alive()`` turns false (the server died: no answer will come)."""
    session, out, t0 = Session(url, ui.page), Outcome(), time.perf_counter()
    try:
        await _while(alive, session.connect(timeout_s))
        state = await _while(alive, session.upload(ui.uploader_label, name, data))
        run = await _while(alive, session.rerun(state, timeout_s=timeout_s))
        out.read = any(ui.read_marker in t for t in run.texts())
        if run.errors:
            out.refusal = " | ".join(run.errors)
        if run.exceptions:
            out.error = "; ".join(run.exceptions)
        elif not out.read and not out.refusal:
            out.error = "the page showed neither the image nor a reason"
    except Exception as exc:  # timeout, dropped connection (a killed server), protocol error
        out.error = f"{type(exc).__name__}: {exc}"[:300]
    out.seconds = time.perf_counter() - t0
    return session, out


async def _while(alive, coro):
    """``await coro``, or ``ConnectionError`` once ``alive()`` is false."""
    task = asyncio.ensure_future(coro)
    while not task.done():
        await asyncio.wait({task}, timeout=0.5)
        if not task.done() and not alive():
            task.cancel()
            raise ConnectionError("the server stopped before answering")
    return task.result()


async def _phase(server: StreamlitServer, mode: str, n: int, data: bytes, ui: UploadUI, timeout_s: float,
                 max_gb: float) -> dict:
    idle = Session(server.url, ui.page)
    await idle.connect(timeout_s)
    baseline = server.rss()
    sessions: list[Session] = [idle]

    def alive() -> bool:
        return server.proc.poll() is None

    with PeakSampler(server.pid, cap=max_gb * GB, over=lambda: _kill_tree(server.pid)) as sampler:
        t0 = time.perf_counter()
        if mode == "sequential":
            outcomes = []
            for i in range(n):
                session, out = await upload_once(server.url, ui, f"volume_{i:02d}.nii", data, timeout_s, alive)
                sessions.append(session)
                outcomes.append(out)
                _progress(f"{mode} {i + 1}/{n}: {out.seconds:.1f} s, tree {sampler.last / GB:.2f} GB, "
                          f"peak {sampler.peak / GB:.2f} GB, read={out.read} refusal={out.refusal} error={out.error}")
                if sampler.capped:
                    break
        else:
            pairs = await asyncio.gather(*(upload_once(server.url, ui, f"volume_{i:02d}.nii", data, timeout_s,
                                                       alive) for i in range(n)))
            _progress(f"{mode}: peak {sampler.peak / GB:.2f} GB, errors "
                      f"{[o.error for _, o in pairs if o.error][:3]}")
            sessions += [s for s, _ in pairs]
            outcomes = [o for _, o in pairs]
        wall = time.perf_counter() - t0
        await asyncio.sleep(1.0)  # what the sessions keep once the runs are over
        kept = sampler.last
    for session in sessions:
        try:
            await session.close()
        except Exception:
            pass
    outcomes += [Outcome(error="not run: the memory guard stopped the server")] * (n - len(outcomes))
    return {"mode": mode, "n": n, "baseline": baseline, "peak": sampler.peak, "kept": kept, "wall_s": wall,
            "capped": sampler.capped, "outcomes": outcomes}


def _kill_tree(pid: int) -> None:
    """The memory guard: SIGKILL the server and everything below it at once."""
    import os
    import signal

    for p in descendants(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    _progress(f"memory guard: killed the server tree of {pid}")


def _progress(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)


def _rows(phase: dict, mb: float) -> list[Row]:
    n, mode, outs = phase["n"], phase["mode"], phase["outcomes"]
    refused = [o for o in outs if o.refusal]
    lost = [o for o in outs if not o.explained or o.error]
    label = f"{n} x {mb:.0f} MB NIfTI, {mode}"
    extra = {"wall_s": round(phase["wall_s"], 1), "guard_stopped_server": phase["capped"],
             "seconds": [round(o.seconds, 1) for o in outs], "refusals": [o.refusal for o in refused][:5],
             "errors": [o.error for o in lost][:5]}
    return [
        Row("memory", f"{label}: server peak RSS", phase["peak"] / GB, "GB", baseline=phase["baseline"] / GB,
            ratio=phase["peak"] / max(phase["baseline"], 1), target=f"<= {TARGET_GB} GB",
            ok=phase["peak"] <= TARGET_GB * GB and not phase["capped"], extra=extra),
        Row("memory", f"{label}: RSS kept after the uploads", phase["kept"] / GB, "GB",
            baseline=phase["baseline"] / GB, ratio=phase["kept"] / max(phase["baseline"], 1), target="report"),
        Row("memory", f"{label}: sessions refused", len(refused), f"of {n}", target="report (each explained)",
            ok=all(o.explained for o in refused)),
        Row("memory", f"{label}: sessions lost (no image, no reason)", len(lost), f"of {n}", target="== 0",
            ok=not lost),
    ]


def profile_read(data: bytes, name: str = "volume.nii") -> dict[str, dict[str, float]]:
    """MB that each step of the upload path adds at its peak and keeps afterwards, in this
    process: the bytes the session keeps, ``read_image``, ``describe`` (the facts table) and
    the viewer's display copy (``MedImage.windowed``, as ``ui.shared.viewers.show_image`` makes it)."""
    from medlearn.data.io import read_image

    steps: dict[str, dict[str, float]] = {}
    held: list = []

    def step(label: str, fn):
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        before = _status("VmRSS")
        held.append(fn())
        gc.collect()
        steps[label] = {"peak_mb": (_status("VmHWM") - before) / MB, "kept_mb": (_status("VmRSS") - before) / MB}
        return held[-1]

    copy = step("session keeps the file's bytes (f.getvalue())", lambda: bytearray(data))
    image = step("read_image (decode)", lambda: read_image(copy, name))
    step("image.describe() (facts table)", image.describe)
    step("image.windowed() (the viewer's display copy)", image.windowed)
    steps["for scale: the file"] = {"peak_mb": len(data) / MB, "kept_mb": len(data) / MB}
    steps["for scale: image.pixels"] = {"peak_mb": image.pixels.nbytes / MB, "kept_mb": image.pixels.nbytes / MB}
    return steps


def _status(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field_name)


async def _run(sessions: int, mb: float, modes: tuple[str, ...], timeout_s: float, max_gb: float,
               ui: UploadUI) -> tuple[list[Row], dict]:
    data = await asyncio.to_thread(nifti_volume, mb)
    rows, phases = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            env = {"MEDLEARN_HOME": str(Path(tmp) / mode), "MEDLEARN_AUTOTRAIN": "0"}
            with StreamlitServer(ENTRY, env=env) as server:
                phase = await _phase(server, mode, sessions, data, ui, timeout_s, max_gb)
            phases[mode] = phase
            rows += _rows(phase, len(data) / MB)
    return rows, phases


def run(sessions: int = 20, mb: float = 150.0, modes: tuple[str, ...] = ("sequential", "together"),
        timeout_s: float = 600.0, max_gb: float = 12.0, ui: UploadUI | None = None) -> list[Row]:
    """Both phases with ``sessions`` sessions uploading ``mb`` MB each."""
    return asyncio.run(_run(sessions, mb, modes, timeout_s, max_gb, ui or UploadUI()))[0]


if __name__ == "__main__":
    import argparse
    import json

    from bench.common import RESULTS, format_table, write_results

    ap = argparse.ArgumentParser(description="Server memory under large uploads.")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--mb", type=float, default=150.0, help="size of the uploaded volume (MiB)")
    ap.add_argument("--modes", default="sequential,together")
    ap.add_argument("--max-gb", type=float, default=12.0, help="stop a phase once the server tree passes this")
    ap.add_argument("--profile", action="store_true", help="also measure each step of the upload path here")
    ap.add_argument("--save", action="store_true", help="write bench/results/memory.json")
    args = ap.parse_args()
    rows = run(args.sessions, args.mb, tuple(args.modes.split(",")), max_gb=args.max_gb)
    print(format_table(rows))
    if args.save:
        write_results("memory", rows)
    if args.profile:
        steps = profile_read(nifti_volume(args.mb))
        print(json.dumps(steps, indent=2))
        if args.save:
            (RESULTS / "memory_profile.json").write_text(json.dumps(steps, indent=2))
