"""Home page panels: the case cards and the architecture gallery.

Home is the first page every visitor sees, so it draws its text and cards without
importing torch, MONAI or ``medlearn.models`` (start-up would wait seconds for them); the
gallery builds networks, so it is drawn only once a visitor switches it on.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from ui.shared import icons
from ui.shared.render import thumbnail

CARDS_PER_ROW = 3
CARD_PX = 200  # long side of a card's pictures
FIRST_CASE = "retina"  # the "start here" path opens this case (a 2D photograph, a quick model)


def render_start_here(cases: list[CaseStudy]) -> None:
    """A first-time student's path: one case, its three sections in order, then the race."""
    first = next((c for c in cases if c.key == FIRST_CASE), cases[0] if cases else None)
    if first is None:
        return
    with st.container(border=True):
        st.markdown(f"#### {icons.START} New here? Start with one case, in three steps")
        st.markdown(
            f"1. **Explore** the {first.title} case: browse phantoms and real images with their ground truth.\n"
            "2. **Predict**: let a trained network answer for one image, and see where it looked.\n"
            "3. **Train**: race two architectures on the same images and watch the curves.\n\n"
            "Each case page has these three sections at its top; then try the other cases, or your own image.")
        with st.container(horizontal=True):
            st.page_link(f"pages/{first.key}.py", label=f"Start: {first.title}", icon=icons.case_icon(first),
                         query_params={"section": "explore"})
            st.page_link("pages/try_your_own.py", label="Try your own image", icon=icons.UPLOAD)
            st.page_link("pages/race.py", label="Architecture race", icon=icons.RACE)


@st.cache_data(max_entries=16, show_spinner=False)
def card_pictures(case_key: str) -> list[tuple[np.ndarray, str]]:
    """A phantom of the case and, when one is on this machine, a real image: ``(rgb, caption)``
    pairs, cached per server (Home draws them on every visit)."""
    from medlearn.data.sources import list_sources
    from ui.shared import cache
    pictures = [(cache.phantom_thumbnails(case_key, 0, 0.5, (), 1, CARD_PX)[0][0], "synthetic phantom")]
    for source in list_sources(case_key):
        if source.kind == "phantom" or not source.is_available():
            continue
        try:
            sample = cache.load_samples(source.name, case_key, 1)[0]
        except (MedlearnError, OSError, IndexError, ValueError):
            continue  # an unreadable source is the case page's to explain; Home shows the phantom
        pictures.append((thumbnail(sample.image, sample.mask, CARD_PX), f"real: {source.title}"))
        break
    return pictures


def render_cards(cases: list[CaseStudy]) -> None:
    """One bordered card per case: icon, title, question, pictures, task and a link to its page."""
    for start in range(0, len(cases), CARDS_PER_ROW):
        for column, case in zip(st.columns(CARDS_PER_ROW), cases[start : start + CARDS_PER_ROW]):
            with column.container(border=True, height="stretch"):
                st.markdown(f"#### {icons.case_icon(case)} {case.title}")  # h4: whole words in a 1024 px row of three
                st.markdown(case.question)
                pictures = card_pictures(case.key)
                for picture, (rgb, caption) in zip(st.columns(2), pictures):  # one short word under a thumbnail
                    picture.image(rgb, caption=caption.split(":")[0].replace("synthetic ", ""), width="stretch")
                for _, caption in pictures[1:]:  # the real image's source, in full below the pair
                    st.caption(caption.replace("real:", "Real image:"))
                task = case.task
                # the default networks depend on the data found here (the case page says which): not on the card
                st.caption(f"{case.modality} · {task.kind} · {task.spatial_dims}D · {task.num_classes} classes")
                st.page_link(f"pages/{case.key}.py", label="Open the case", icon=icons.OPEN)


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
    from ui.train.architectures import GALLERY_SIZE, model_card

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
