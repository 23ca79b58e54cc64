"""Server helper: memory from /proc, a hello-world server started, drawn in Chromium, stopped."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bench.serve import CHROMIUM, RunWatcher, StreamlitServer, launch, rss_bytes, wait_drawn

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium")


def test_rss_counts_this_process():
    assert rss_bytes(os.getpid()) > 10 * 1024 ** 2


@needs_chromium
def test_hello_server_is_drawn_then_stopped(tmp_path):
    from playwright.async_api import async_playwright

    script = tmp_path / "hello.py"
    script.write_text('import streamlit as st\nst.title("hello there")\n')

    async def drive(server):
        async with async_playwright() as p:
            browser = await launch(p)
            page = await browser.new_page()
            watcher = RunWatcher(page)
            await page.goto(server.url)
            drawn = await wait_drawn(page, watcher, "hello there", 0, timeout_s=60)
            await browser.close()
            return drawn, watcher

    with StreamlitServer(script, cwd=tmp_path) as server:
        drawn, watcher = asyncio.run(drive(server))
        assert drawn > server.started and watcher.finished >= 1 and watcher.exceptions == 0
        assert server.rss() > 30 * 1024 ** 2
        pid = server.pid
    assert server.proc.poll() is not None
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
