"""The shared sidebar: what MedLearn is, the clinical-use warning, the data home status and
the instructor-mode controls (``ui.shared.instructor``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import medlearn
from medlearn.data.home import data_home, mirror_root
from ui.shared import icons
from ui.shared.instructor import render_controls

LOGO = Path(__file__).resolve().parents[2] / "assets" / "logo.svg"


def render_sidebar() -> None:
    """Draw the logo, the about box, where data lives and instructor mode; once per run from app.py."""
    st.logo(str(LOGO), size="large")
    with st.sidebar:
        st.warning("For teaching, not for clinical use.", icon=icons.WARNING)
        with st.expander("About MedLearn", expanded=False):
            st.markdown(
                "A teaching dashboard for deep learning in medical imaging, built around six "
                "case studies from Cai, Gao & Zhao, *Ann Transl Med* 8(11):713 (2020). "
                "Explore real and synthetic images, compare architectures, and try your own "
                f"images. Version {medlearn.__version__}, MIT licence."
            )
        st.caption(data_status())
        render_controls()


def data_status() -> str:
    """One line on where datasets, runs and checkpoints are kept (Markdown)."""
    home = data_home()
    state = "ready" if home.is_dir() else "created on first download"
    line = f"**Data home:** `{home}` ({state}, {_size_mb(home):.0f} MB used)."
    mirror = mirror_root()
    if mirror is not None:
        line += f"  \n**Mirror:** `{mirror}` (read-only copies of public datasets)."
    return line


@st.cache_data(ttl=60, show_spinner=False)
def _size_mb(folder: Path) -> float:
    """Disk use of ``folder`` in MB (cached for a minute: walking a large home is slow)."""
    if not folder.is_dir():
        return 0.0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
