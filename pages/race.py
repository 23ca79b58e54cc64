"""Architecture race: the networks a case can use, compared from the models themselves."""

import streamlit as st

from medlearn.cases import get_case, list_cases
from ui.architectures import render_comparison

st.title("🏁 Architecture race")
st.markdown(
    "Which network should a case use? Start from the architectures the literature used "
    "(the case's defaults) and every other network MedLearn can build for the same task: "
    "how many weights each has and what each layer does to the image's shape."
)
cases = {c.key: c for c in list_cases()}
key = st.selectbox("Case study", list(cases), format_func=lambda k: f"{cases[k].icon} {cases[k].title}",
                   key="race.case")
case = get_case(key)
st.markdown(f"**{case.question}** ({case.task.kind}, {case.task.spatial_dims}D)")
render_comparison(case)
