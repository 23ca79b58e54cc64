"""A browserless Streamlit session: the websocket protocol a browser tab speaks, in Python.

The classroom benchmark drives many sessions at once; 20 Chromium tabs on a 2-core
machine measure the browsers, not the server (a student's tab renders on the student's
own laptop). :class:`Session` does what the tab does on the wire, nothing more:
connects to ``/_stcore/stream`` (with the XSRF cookie and token the app requires),
asks for script runs with the widget values a click would send, uploads files through
``/_stcore/upload_file`` as ``st.file_uploader`` does, and keeps the elements each run
draws. Hand-written because no maintained package speaks this protocol; it uses
Streamlit's own protobuf classes and the ``websockets`` package Streamlit depends on.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class ProtocolError(RuntimeError):
    """The server answered something a browser tab would not expect."""


@dataclass
class Run:
    """What one script run drew: elements by delta path, exceptions and error boxes."""

    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def texts(self) -> list[str]:
        """Markdown bodies, in page order (``st.caption`` is markdown on the wire too)."""
        return [el.markdown.body for _, el in sorted(self.elements.items()) if el.WhichOneof("type") == "markdown"]

    def media(self) -> list[str]:
        """URLs of the pictures the run drew (a browser fetches each one to show it)."""
        return [img.url for el in self.elements.values() if el.WhichOneof("type") == "imgs" for img in el.imgs.imgs]


class Session:
    """One browser tab's conversation with a Streamlit server, without the browser.

    Args:
        url: ``http://127.0.0.1:PORT``.
        page: the page's URL path (``"breast"``), ``""`` for the main page.
        query: the query string without ``?`` (``"section=predict"``).
    """

    def __init__(self, url: str, page: str = "", query: str = ""):
        self.url, self.page, self.query = url.rstrip("/"), page, query
        self.ws = None
        self.session_id = ""
        self.page_hash = ""
        self.widgets: dict[str, WidgetState] = {}  # the values this tab has set, by widget id
        self.last = Run()
        self._xsrf = ""
        self._cookie = ""
        self._inbox: asyncio.Queue[ForwardMsg] = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    # -- connection ------------------------------------------------------------------
    async def connect(self, timeout_s: float = 60.0) -> Run:
        """Open the websocket and run the page once (what loading the URL does)."""
        import websockets

        self._xsrf, self._cookie = await asyncio.to_thread(self._fetch_xsrf)
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(
            ws_url, subprotocols=["streamlit", self._xsrf], max_size=None,
            additional_headers={"Cookie": self._cookie, "Origin": self.url})
        self._reader = asyncio.create_task(self._read())
        return await self.rerun(timeout_s=timeout_s)

    def _fetch_xsrf(self) -> tuple[str, str]:
        """The XSRF token and the Cookie header a tab sends: every cookie the server set (behind
        a proxy that pins sessions to replicas, its cookie too, so the socket and the uploads
        reach the same replica)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{self.url}/_stcore/health", timeout=30) as r:
            r.read()
        token = next((c.value for c in jar if c.name == XSRF_COOKIE), None)
        if token is None:
            raise ProtocolError("the server set no XSRF cookie")
        return token, "; ".join(f"{c.name}={c.value}" for c in jar)

    async def _read(self) -> None:
        async for data in self.ws:
            if isinstance(data, bytes):
                self._inbox.put_nowait(ForwardMsg.FromString(data))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()

    # -- script runs -----------------------------------------------------------------
    async def rerun(self, *changed: WidgetState, timeout_s: float = 60.0) -> Run:
        """Ask for a script run with ``changed`` widget values (plus every value set before);
        return what the run drew once it has finished."""
        for state in changed:
            self.widgets[state.id] = state
        msg = BackMsg()
        client = msg.rerun_script
        client.query_string = self.query
        client.page_script_hash = self.page_hash
        client.page_name = "" if self.page_hash else self.page
        client.widget_states.widgets.extend(self.widgets.values())
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        run = await self._collect(timeout_s)
        run.seconds = time.perf_counter() - t0
        self.last = run
        return run

    async def _collect(self, timeout_s: float) -> Run:
        run, deadline = Run(), time.perf_counter() + timeout_s
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no finished script run within {timeout_s:.0f} s")
            msg = await asyncio.wait_for(self._inbox.get(), left)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                run = Run()  # a fresh run starts (also after an st.rerun inside the script)
                self.session_id = self.session_id or msg.new_session.initialize.session_id
            elif kind == "navigation":  # the page this run drew (new_session names the main script's)
                self.page_hash = msg.navigation.page_script_hash or self.page_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._keep(run, tuple(msg.metadata.delta_path), msg.delta.new_element)
            elif kind == "script_finished" and msg.script_finished in DONE:
                return run

    @staticmethod
    def _keep(run: Run, path: tuple[int, ...], el: Element) -> None:
        run.elements[path] = el
        kind = el.WhichOneof("type")
        if kind == "exception":
            run.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
        elif kind == "alert" and el.alert.format == el.alert.ERROR:
            run.errors.append(el.alert.body[:300])

    async def fetch_media(self, run: Run) -> int:
        """GET every picture of ``run`` as a tab would; returns the bytes received."""
        def get(url: str) -> int:
            target = url if url.startswith("http") else f"{self.url}/{url.lstrip('/')}"
            request = urllib.request.Request(target, headers={"Cookie": self._cookie})  # a tab sends its cookies
            with urllib.request.urlopen(request, timeout=60) as r:
                return len(r.read())

        return sum(await asyncio.gather(*(asyncio.to_thread(get, u) for u in run.media())))

    # -- widgets ---------------------------------------------------------------------
    def widget(self, kind: str, label: str) -> Element:
        """The last run's widget of ``kind`` (``"radio"``, ``"file_uploader"``...) with this label."""
        for el in self.last.elements.values():
            if el.WhichOneof("type") == kind and getattr(el, kind).label == label:
                return el
        raise ProtocolError(f"no {kind} labelled {label!r} on the page")

    def choose(self, label: str, option: str) -> WidgetState:
        """The widget value a click on radio option ``option`` sends."""
        radio = self.widget("radio", label).radio
        if option not in radio.options:
            raise ProtocolError(f"radio {label!r} has no option {option!r}: {list(radio.options)}")
        return WidgetState(id=radio.id, string_value=option)  # radios send the option's text

    async def upload(self, label: str, name: str, data: bytes, mime: str = "application/octet-stream"
                     ) -> WidgetState:
        """Send ``data`` to the uploader labelled ``label``; returns the widget value to rerun with."""
        uploader = self.widget("file_uploader", label).file_uploader
        request = BackMsg()
        request.file_urls_request.request_id = uuid.uuid4().hex
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        await self.ws.send(request.SerializeToString())
        urls = await self._file_urls(request.file_urls_request.request_id)
        await asyncio.to_thread(self._put, urls.upload_url, name, data, mime)
        state = WidgetState(id=uploader.id)
        state.file_uploader_state_value.uploaded_file_info.append(
            UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls))
        return state

    async def _file_urls(self, request_id: str, timeout_s: float = 30.0) -> FileURLs:
        deadline = time.perf_counter() + timeout_s
        while True:  # other messages cannot arrive here: no script runs while we wait
            msg = await asyncio.wait_for(self._inbox.get(), max(0.01, deadline - time.perf_counter()))
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
                if msg.file_urls_response.error_msg:
                    raise ProtocolError(msg.file_urls_response.error_msg)
                return msg.file_urls_response.file_urls[0]

    def _put(self, path: str, name: str, data: bytes, mime: str) -> None:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        target = path if path.startswith("http") else self.url + path
        req = urllib.request.Request(target, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self._xsrf,
            "Cookie": self._cookie, "Origin": self.url})
        with urllib.request.urlopen(req, timeout=60) as r:
            if r.status not in (200, 204):
                raise ProtocolError(f"upload answered HTTP {r.status}")
