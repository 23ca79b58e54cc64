"""Offer a case's open datasets for download from the page: size, licence, citation, progress.

:func:`render_download_offer` lists each downloadable source of the case (MedMNIST, MSD
Task04; ``choice.download_offers``) that is not on this machine yet. Whether the machine
is online is asked once a minute per address, with a ``HEAD`` request that gives up after
two seconds (``download.probe``): online, the exact size and a download button; offline,
where to get the file by hand and the ``fetch --from`` import to use instead. The download runs in the page
with a progress bar fed by the downloader (MD5-checked; an interrupted one leaves a
``.part`` that the next click resumes). A finished download clears the cached choice of
the case's training data, so the next default model trains on it.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.sources.base import DatasetSource, Progress
from medlearn.data.sources.choice import describe_source, download_offers
from medlearn.data.sources.download import RemoteFile, probe
from medlearn.errors import MedlearnError
from ui.shared.data_choice import best_source
from ui.shared.text import plain

PROBE_SECONDS = 2.0


@st.cache_data(ttl=60, show_spinner=False)
def reachable(url: str) -> int | None:
    """``download.probe(url)``, remembered for a minute: the size in bytes (0 unknown), None offline."""
    return probe(url, timeout=PROBE_SECONDS)


@st.cache_resource(show_spinner=False)
def _locks() -> dict[str, threading.Lock]:
    """One lock per source and server: two sessions never write the same ``.part`` at once."""
    return {}


def render_download_offer(case: CaseStudy, key: str | None = None) -> None:
    """The case's open datasets that are not here yet, each with its size, licence, citation
    and a download button (or, offline, how to get it by hand); nothing when all are here."""
    key = key or f"download.{case.key}"
    done = st.session_state.get(f"{key}.done")
    if done:
        st.success(done, icon=":material/check_circle:")
    offers = download_offers(case)
    if not offers:
        return
    st.markdown("**⬇️ Real images for this case, free to download**")
    for source in offers:
        with st.container(border=True):
            _offer(case, source, f"{key}.{source.name}", done_key=f"{key}.done")


def _offer(case: CaseStudy, source: DatasetSource, key: str, done_key: str) -> None:
    remote = source.remote_file()
    size = reachable(remote.url)
    st.markdown(f"**{plain(source.title)}** · {_megabytes(size or 0, remote.approx_mb)} · "
                f"licence {plain(source.licence or 'see the dataset page')}")
    st.caption(plain(source.description))
    st.caption(f"Please cite: {plain(source.citation)}")
    if remote.partial_bytes:
        st.caption(f"An earlier download stopped after {remote.partial_bytes / 1e6:.1f} MB; "
                   "it resumes from there.")
    if size is None:
        _offline(source, remote, key)
        return
    if st.button(f"Download {source.title} ({_megabytes(size, remote.approx_mb)})", type="primary",
                 key=f"{key}.go"):
        message = _download(case, source, remote)
        if message:
            st.session_state[done_key] = message
            st.rerun()


def _offline(source: DatasetSource, remote: RemoteFile, key: str) -> None:
    host = urlsplit(remote.url).netloc or remote.url
    archive = remote.name.endswith((".tar", ".tar.gz", ".tgz", ".zip"))
    st.warning(
        f"This machine cannot reach {plain(host)} (offline, or the site is down), so the download is not "
        "offered. Meanwhile, on a machine with internet, download "
        f"`{remote.name}` from {plain(remote.official_url)}"
        + (" and unpack it; copy the unpacked folder here" if archive else "; copy it into a folder here")
        + f", then run `python -m medlearn fetch {source.name} --from FOLDER`.",
        icon=":material/wifi_off:")
    if st.button("Check the connection again", key=f"{key}.retry"):
        reachable.clear()
        st.rerun()


def _download(case: CaseStudy, source: DatasetSource, remote: RemoteFile) -> str | None:
    """Fetch the source with a progress bar; the success message, or None after showing the error."""
    lock = _locks().setdefault(source.name, threading.Lock())
    if not lock.acquire(blocking=False):
        st.info(f"Someone else is downloading {source.title} on this server right now; "
                "it will be here in a moment.", icon=":material/hourglass_top:")
        return None
    bar = st.progress(0.0, text=f"Connecting to {urlsplit(remote.url).netloc}…")
    try:
        source.fetch(_progress_bar(bar, source.title))
    except (MedlearnError, OSError) as exc:
        bar.empty()
        st.error(plain(str(exc)), icon=":material/error:")
        return None
    finally:
        lock.release()
    bar.progress(1.0, text="Downloaded; checksum verified.")
    best_source.clear()  # the cached choice must see the new data now, not in a minute
    return (f"{source.title} is downloaded and verified. The next default model of {case.title} "
            f"trains on {describe_source(best_source(case))}.")


def _progress_bar(bar, title: str) -> Progress:
    """A downloader progress callback drawing ``bar``, redrawn at each whole percent (or MB)."""
    shown: list[int] = [-1]

    def update(done: int, total: int) -> None:
        step = done * 100 // total if total else done >> 20
        if step == shown[0]:
            return
        shown[0] = step
        text = (f"Downloading {title}: {done / 1e6:.1f} of {total / 1e6:.1f} MB" if total
                else f"Downloading {title}: {done / 1e6:.1f} MB")
        bar.progress(min(step, 100) / 100 if total else 0.0, text=text)

    return update


def _megabytes(exact: int, approx: float | None) -> str:
    """``3.3 MB`` from the server's exact byte count, ``about 29 MB`` from the estimate."""
    if exact:
        return f"{exact / 1e6:.1f} MB"
    return f"about {approx:g} MB" if approx else "size unknown"
