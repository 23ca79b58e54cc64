"""Try your own image: upload, see what was read, find the matching case, and predict in it."""

import streamlit as st

from ui.shared import icons
from ui.predict.predict_panel import render_prediction_for
from ui.predict.upload import FORMATS, PredictInput, render_upload

st.title(f"{icons.UPLOAD} Try your own image")
st.markdown(
    "Upload a medical image to see what MedLearn reads from it (format, shape, voxel "
    f"spacing, modality, display window) and which case study it fits. Accepted: {FORMATS}.  \n"
    "Files stay in this browser session only. **Do not upload images that identify a patient.**"
)
image, case = render_upload()
if image is not None and case is not None:
    st.divider()
    st.header(f"{icons.PREDICT} Prediction in the {case.title} case")
    item = PredictInput(image, None, None, f"upload:{image.source}:{image.shape}", f"Your upload: {image.source}",
                        "upload")
    render_prediction_for(case, item, None, f"predict.try.{case.key}")
