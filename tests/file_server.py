"""A tiny HTTP file server for download tests, on 127.0.0.1 only: ``serve(files)`` yields
``(base_url, server)`` and stops the server when the block ends. ``files`` maps a path
(``"/a.npz"``) to its bytes. GET honours ``Range`` (resumed downloads) unless
``honour_range=False``; HEAD gives the size only. The server records every request
(``server.requests``: ``(method, path)``) and every ``Range`` header (``server.ranges``), and
``server.cut_after = N`` sends only the first N bytes of a body (a dropped connection).
Importable as ``from file_server import serve`` (``tests/`` is on the path)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _data(self) -> bytes | None:
        self.server.requests.append((self.command, self.path))
        data = self.server.files.get(self.path.split("?")[0])
        if data is None:
            self.send_error(404)
        return data

    def do_GET(self):
        srv = self.server
        srv.ranges.append(self.headers.get("Range"))
        data = self._data()
        if data is None:
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted and srv.honour_range:
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: srv.cut_after] if srv.cut_after is not None else body)

    def do_HEAD(self):  # what ``download.probe`` asks: the size, no body
        data = self._data()
        if data is None:
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()


@contextmanager
def serve(files: dict[str, bytes], honour_range: bool = True):
    """Yield ``(base_url, server)``; the server stops when the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.honour_range, server.ranges, server.requests, server.cut_after = (
        files, honour_range, [], [], None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
