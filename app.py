"""MedLearn dashboard: the router. Run with ``streamlit run app.py``.

Only routing and the shared sidebar live here; every page is a thin file in ``pages/``.
"""

from pathlib import Path

import streamlit as st

from medlearn.cases import list_cases
from ui.shared import icons, projector
from ui.shared.sidebar import render_sidebar

ROOT = Path(__file__).parent

st.set_page_config(page_title="MedLearn", layout="wide", page_icon=str(ROOT / "assets" / "icon.svg"),
                   initial_sidebar_state=projector.sidebar_state())

home = st.Page(ROOT / "pages" / "home.py", title="Home", icon=icons.HOME, default=True)
cases = [st.Page(ROOT / "pages" / f"{c.key}.py", title=c.title, icon=icons.case_icon(c), url_path=c.key)
         for c in list_cases()]
tools = [
    st.Page(ROOT / "pages" / "try_your_own.py", title="Try your own image", icon=icons.UPLOAD,
            url_path="try"),
    st.Page(ROOT / "pages" / "race.py", title="Architecture race", icon=icons.RACE, url_path="race"),
]

page = st.navigation({"MedLearn": [home], "Case studies": cases, "Tools": tools})
render_sidebar()
projector.apply()
page.run()
