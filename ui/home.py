"""Home page panels: the case cards and the architecture gallery.

Home is the first page every visitor sees, so it draws its text and cards without
importing torch, MONAI or ``medlearn.models`` (start-up would wait seconds for them); the
gallery builds networks, so it is drawn only once a visitor switches it on.
"""

from __future__ import annotations

import streamlit as st

from medlearn.cases import CaseStudy

CARDS_PER_ROW = 3


def render_cards(cases: list[CaseStudy]) -> None:
    """One bordered card per case: icon, title, question, task and a link to its page."""
    for start in range(0, len(cases), CARDS_PER_ROW):
        for column, case in zip(st.columns(CARDS_PER_ROW), cases[start : start + CARDS_PER_ROW]):
            with column.container(border=True, height="stretch"):
                st.markdown(f"### {case.icon} {case.title}")
                st.markdown(case.question)
                task = case.task
                st.caption(f"{case.modality} · {task.kind} · {task.spatial_dims}D · "
                           f"{task.num_classes} classes · default: {', '.join(case.recipe.architectures)}")
                st.page_link(f"pages/{case.key}.py", label="Open the case", icon="➡️")


def render_gallery_switch() -> None:
    """The gallery behind a toggle: the first paint of Home never waits for a network build."""
    if st.toggle("Show the architecture gallery", key="home.gallery.on",
                 help="Builds the chosen network on the server to measure its layers (a few seconds the first time)."):
        render_gallery()
    else:
        st.caption("Switch it on to browse every registered network, layer by layer.")


def render_gallery() -> None:
    """Pick any registered model; show its layer table for a small grey input."""
    from medlearn.models import list_models
    from ui.architectures import GALLERY_SIZE, model_card

    specs = {s.name: s for s in list_models()}
    if not specs:
        st.info("No architecture is registered in this installation.")
        return
    left, right = st.columns([1, 3], gap="large")
    with left:
        name = st.selectbox("Architecture", list(specs), format_func=lambda n: specs[n].title,
                            key="home.gallery.model")
        spec = specs[name]
        dims = st.radio("Dimensions", spec.spatial_dims, format_func=lambda d: f"{d}D", horizontal=True,
                        key=f"home.gallery.dims.{name}")
        channels = st.radio("Input", (1, 3), format_func=lambda c: "grey (1 channel)" if c == 1 else "colour (3)",
                            key="home.gallery.channels")
        classes = st.number_input("Classes", 2, 10, 2, key="home.gallery.classes")
        st.caption(f"{spec.task.capitalize()} network. Input side {GALLERY_SIZE} px"
                   + (f" (a multiple of {spec.size_multiple})" if spec.size_multiple > 1 else "") + ".")
    with right:
        model_card(name, in_channels=channels, num_classes=int(classes), spatial_dims=dims, width=16,
                   input_size=GALLERY_SIZE if dims == 2 else 32)
