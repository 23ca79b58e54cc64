"""Try your own image: upload, see what was read, view it, find the matching case."""

import streamlit as st

from ui.upload import FORMATS, render_upload

st.title("📤 Try your own image")
st.markdown(
    "Upload a medical image to see what MedLearn reads from it (format, shape, voxel "
    f"spacing, modality, display window) and which case study it fits. Accepted: {FORMATS}.  \n"
    "Files stay in this browser session only. **Do not upload images that identify a patient.**"
)
render_upload()
