"""Heart extra: the cine phantom (phases x slices) with ED/ES marked and EDV/ESV/EF.

The volumes shown are the phantom's exact values; the curve beside them is the cavity
volume measured from the masks of every phase by Simpson's method (sum of slice areas
times slice spacing), so students see the two agree.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data import phantoms
from medlearn.errors import MedlearnError
from ui.shared import icons, projector
from ui.explore.phantom_lab import parameter_control
from ui.shared.render import legend_words, render_2d
from ui.shared.text import plain
from ui.shared.viewers import mask_names, overlay_controls

FRAME_PX = 420
PLAY_S = 0.5  # seconds per phase while the cine plays (20 phases: one heartbeat in 10 s)


@st.cache_data(max_entries=4, show_spinner="Drawing the cine (about 2 s)…")
def _cine(seed: int, params: tuple):
    return phantoms.make_cine(seed=seed, **dict(params))


def render_cine(case: CaseStudy) -> None:
    """Nothing unless the phantoms provide ``make_cine``; else the cine panel (a fragment)."""
    if phantoms.make_cine is None:
        return
    st.subheader(f"{icons.CINE} Cardiac cycle (cine phantom)")
    st.markdown("A short-axis stack through the whole heartbeat. End-diastole (ED) is the fullest "
                "ventricle, end-systole (ES) the emptiest; EF = (EDV − ESV) / EDV.")
    _cine_panel(case)


@st.fragment
def _cine_panel(case: CaseStudy) -> None:
    # The per-frame axes (names ending in "_index") are the cine's own sliders, not parameters.
    specs = [s for s in phantoms.param_specs(case.key) if not s.name.endswith("_index")]
    # Seed and choice boxes on one row, sliders three to a row: each control keeps a readable width.
    choices, sliders = [s for s in specs if s.choices], [s for s in specs if not s.choices]
    top = st.columns(max(3, len(choices) + 1))
    seed = top[0].number_input("Cine seed", 0, 10_000, 0, key="cine.seed")
    chosen: dict[str, object] = {}
    cells = top[1 : len(choices) + 1] + [column for _ in range(0, len(sliders), 3) for column in st.columns(3)]
    for column, spec in zip(cells, choices + sliders):
        with column:
            parameter_control(spec, chosen, "cine")
    try:
        cine = _cine(int(seed), tuple(sorted(chosen.items())))
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return
    _volumes(cine)
    frame, curve = st.columns([3, 2], gap="large")
    with frame:
        _frame(case, cine)
    with curve:
        st.plotly_chart(projector.style_chart(volume_figure(cine)), width="stretch")


def _volumes(cine) -> None:
    values = (("EDV", f"{cine.edv_ml:.0f} ml"), ("ESV", f"{cine.esv_ml:.0f} ml"),
              ("Stroke volume", f"{cine.stroke_volume_ml:.0f} ml"), ("EF", f"{cine.ef_percent:.1f} %"),
              ("Myocardial mass", f"{cine.myocardial_mass_g:.0f} g"))
    for column, (label, value) in zip(st.columns(len(values)), values):
        column.metric(label, value)
    st.caption(f"Variant: {cine.variant}. Published Sunnybrook group means: normal EF 62.9 %, "
               "heart failure with infarction 32.0 % (Radau et al. 2009).")


def _frame(case: CaseStudy, cine) -> None:
    """The play switch, then the frame: a timed fragment steps the phase while it plays.

    The timed fragment is declared only while playing, so pausing drops it (and Streamlit
    stops its timer); each tick reruns the frame alone, not the cine panel.
    """
    playing = st.toggle(f"{icons.NEXT} Play the heartbeat", key="cine.play",
                        help=f"Steps through the phases, one every {PLAY_S:g} s; switch off to pause on a phase.")
    if playing:
        st.fragment(run_every=PLAY_S)(_playing_frame)(case, cine)
    else:
        _frame_view(case, cine)


def _playing_frame(case: CaseStudy, cine) -> None:
    st.session_state["cine.phase"] = next_phase(st.session_state.get("cine.phase", cine.ed_phase + 1),
                                                cine.images.shape[0])
    _frame_view(case, cine)


def next_phase(phase: int, n_phases: int) -> int:
    """The phase after ``phase`` (both counted from 1 like the slider), back to 1 after the last."""
    return int(phase) % n_phases + 1 if 1 <= int(phase) <= n_phases else 1


def _frame_view(case: CaseStudy, cine) -> None:
    n_phases, n_slices = cine.images.shape[:2]
    marks = {cine.ed_phase: "ED", cine.es_phase: "ES"}
    left, right = st.columns(2)
    if not 1 <= st.session_state.get("cine.phase", cine.ed_phase + 1) <= n_phases:  # another cine's phase
        st.session_state.pop("cine.phase")
    st.session_state.setdefault("cine.phase", cine.ed_phase + 1)  # opens on ED; the player moves it
    # Sliders count from 1 like the caption and the volume curve; indices into the cine are one less.
    phase = left.slider("Phase", 1, n_phases, key="cine.phase",
                        help="Time through the heartbeat; ED and ES are marked in the caption.") - 1
    slice_ = right.slider("Slice (base → apex)", 1, n_slices, n_slices // 2 + 1, key="cine.slice") - 1
    with st.container(horizontal=True):
        opacity, outline, show = overlay_controls("cine.view", opacity=0.4)
    image = cine.slice_image(phase, slice_)
    mask = cine.masks[phase, slice_] if show else None
    st.image(render_2d(image.windowed(), mask, image.spacing, FRAME_PX, opacity, outline), width=FRAME_PX,
             alt=f"cine frame phase {phase + 1} slice {slice_ + 1}")
    legend = (legend_words(mask, mask_names(case)) or "nothing marked here") if show else "no overlay"
    st.caption(f"Phase {phase + 1}/{n_phases}{' (' + marks[phase] + ')' if phase in marks else ''}, "
               f"slice {slice_ + 1}/{n_slices}; {legend}.")


def volume_figure(cine) -> go.Figure:
    """LV cavity volume (ml) against phase, measured from the masks; ED and ES marked."""
    return volume_curve(cine.mask_volumes_ml(), cine.ed_phase, cine.es_phase)


def volume_curve(volumes, ed: int, es: int, first: int = 1,
                 title: str = "LV cavity volume (from the masks)") -> go.Figure:
    """Cavity volume (ml) of each phase, phases numbered from ``first``; ED and ES (indices) marked."""
    volumes = np.asarray(volumes, float)
    phases = np.arange(first, len(volumes) + first)
    from ui.train.race_chart import PALETTE  # the one Okabe-Ito palette: blue, then vermillion and orange

    fig = go.Figure(go.Scatter(x=phases, y=volumes, mode="lines+markers", name="cavity volume",
                               line={"color": PALETTE[0]}))
    for index, label, colour in ((ed, "ED", PALETTE[3]), (es, "ES", PALETTE[1])):
        fig.add_trace(go.Scatter(x=[index + first], y=[volumes[index]], mode="markers+text", text=[label],
                                 textposition="top center", marker={"size": 12, "color": colour}, name=label))
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                      title=title, xaxis_title="phase", yaxis_title="volume (ml)",
                      xaxis={"dtick": 1 if len(volumes) <= 12 else None})  # 20 labels crowd a narrow chart
    return fig
