"""MedLearn's server entry: ``streamlit run serve.py`` serves ``app.py`` through Streamlit's
ASGI ``st.App`` with two guards in front (``ui.shared.server_guards``): ``nosniff`` on every
response, and an upload memory budget. ``scripts/start.sh`` runs it; ``streamlit run app.py``
still works, without the guards.
"""

import streamlit as st
from starlette.middleware import Middleware

from ui.shared.server_guards import SecurityHeaders, UploadAdmission

app = st.App("app.py", middleware=[Middleware(SecurityHeaders), Middleware(UploadAdmission)])
