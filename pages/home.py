"""Home: what MedLearn is, the six case studies, and the architecture gallery (on demand).

Light on purpose: nothing here imports torch until the gallery is switched on."""

import streamlit as st

from medlearn.cases import list_cases
from ui.shared import icons
from ui.shared.home import render_cards, render_gallery_switch, render_start_here

st.title("MedLearn")
st.markdown(
    "#### Deep learning for medical images, one case study at a time\n"
    "MedLearn follows the six clinical problems of the review by Cai, Gao & Zhao "
    "(*Ann Transl Med* 8(11):713, 2020). For each you can browse real and synthetic images "
    "with their ground truth, see which networks the literature used, and compare them. "
    "Synthetic *phantoms* make every case work offline: their ground truth (grade, lesion, "
    "volume, ejection fraction) is known exactly."
)
render_start_here(list_cases())
render_cards(list_cases())
st.divider()
st.header(f"{icons.LAYERS} Architecture gallery")
st.markdown("Pick a network to see its layers, the shape of what each layer outputs, and its weights, "
            "measured from the model itself.")
render_gallery_switch()
