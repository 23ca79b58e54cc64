"""The browserless Streamlit session against a tiny app: runs, widgets, uploads, pictures, errors."""

from __future__ import annotations

import asyncio

import pytest

from bench.serve import StreamlitServer
from bench.st_client import ProtocolError, Session

APP = '''import numpy as np
import streamlit as st
st.title("Tiny")
st.markdown(f"query: {st.query_params.get('q', '-')}")
if st.radio("Mode", ["Look", "Send"]) == "Send":
    f = st.file_uploader("File")
    if f is not None:
        st.markdown(f"got {f.name}: {len(f.getvalue())} bytes")
        st.image(np.full((8, 8), 200, np.uint8))
        if f.name == "bad.txt":
            raise ValueError("boom")
'''


async def _script(url):
    s = Session(url, "", "q=7")
    first = await s.connect()
    with pytest.raises(ProtocolError, match="no option"):
        s.choose("Mode", "Shout")
    with pytest.raises(ProtocolError, match="no file_uploader"):
        s.widget("file_uploader", "File")
    await s.rerun(s.choose("Mode", "Send"))
    good = await s.rerun(await s.upload("File", "a.bin", b"12345"))
    fetched = await s.fetch_media(good)
    bad = await s.rerun(await s.upload("File", "bad.txt", b"x"))
    await s.close()
    return first, good, fetched, bad


def test_a_session_runs_uploads_fetches_pictures_and_sees_exceptions(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    with StreamlitServer(tmp_path / "app.py", cwd=tmp_path) as server:
        first, good, fetched, bad = asyncio.run(_script(server.url))
    assert "query: 7" in first.texts() and not first.exceptions
    assert "got a.bin: 5 bytes" in good.texts() and len(good.media()) == 1 and fetched > 0
    assert bad.exceptions and "got bad.txt: 1 bytes" in bad.texts()
