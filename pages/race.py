"""Architecture race: any case, any set of architectures, trained side by side, and compared."""

import streamlit as st

from medlearn.cases import get_case, list_cases
from ui.shared import icons, url_state
from ui.train.architectures import render_comparison
from ui.train.train_panel import render_train_section

url_state.ensure_router()
st.title(f"{icons.RACE} Architecture race")
st.markdown(
    "Which network should a case use? Race the architectures the literature used (the case's "
    "defaults) against every other network MedLearn can build for the same task: same images, "
    "same split, live curves. Then compare how many weights each has and what each layer does."
)
cases = {c.key: c for c in list_cases(studies=True)}
url_state.restore("case", "race.case", options=list(cases))
key = st.selectbox("Case study", list(cases), format_func=lambda k: cases[k].title,
                   key="race.case", on_change=lambda: url_state.publish("arch", None))
url_state.publish("case", key)
case = get_case(key)
st.markdown(f"**{case.question}** ({case.task.kind}, {case.task.spatial_dims}D)")
render_train_section(case, scope="race")
st.divider()
st.subheader(f"{icons.LAYERS} Parameters and layers")
render_comparison(case)
