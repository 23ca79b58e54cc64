"""Predict on an uploaded cardiac cine: every phase segmented, ED and ES, EDV/ESV/SV/EF.

Shown in the Predict section (and Try your own) when the case measures EF and the
upload is a DICOM cine with several phases. The phases are read once per upload
(:func:`medlearn.data.io.cine.read_cine`) and segmented once per upload and model
(:class:`medlearn.cine.ModelSegmenter` over the server's predictor, no heat map); the ED
and ES select boxes only re-measure the kept masks (:func:`medlearn.cine.function_from_masks`).
File names and header text are user-controlled: they are shown as plain text, never as
Markdown.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.cine import CineResult, ModelSegmenter, function_from_masks, segment_phases
from medlearn.data.io.cine import CineSeries, read_cine
from medlearn.errors import MedlearnError
from ui.shared import icons, projector
from ui.explore.cine import volume_curve
from ui.shared.text import plain

AUTO = -1  # select box value: the automatic choice (largest / smallest cavity)
def is_cine_upload(case: CaseStudy, item) -> bool:
    """An upload, for a case that measures EF, read as one phase of several."""
    upload_key = getattr(item, "upload_key", "")
    return bool(upload_key) and "ef_percent" in case.measurements and int(item.image.meta.get("phases") or 1) > 1


def _cine(upload_key: str, key: str) -> CineSeries | str | None:
    """The upload's phases, read once per upload (kept in session state), or the error message.
    A new upload starts from the automatic ED and ES (its phases are other phases)."""
    files = st.session_state.get(f"{upload_key}.files")
    if not files:
        return None
    signature = st.session_state.get(f"{upload_key}.signature")
    kept = st.session_state.get(f"{upload_key}.cine")
    if kept is not None and kept[0] == signature:
        return kept[1]
    for which in ("ed", "es"):
        st.session_state.pop(f"{key}.cine.{which}", None)
    try:
        with st.spinner("Reading every phase of the cine…"):
            cine: CineSeries | str = read_cine(files)
    except MedlearnError as exc:
        cine = str(exc)
    st.session_state[f"{upload_key}.cine"] = (signature, cine)
    return cine


def _masks(case: CaseStudy, item, cine: CineSeries, model, key: str, predictor):
    """Every phase's mask from the model, computed once per upload and checkpoint."""
    path = Path(model.checkpoint)
    signature = (item.id, st.session_state.get(f"{item.upload_key}.signature"), str(path),
                 path.stat().st_mtime_ns if path.exists() else 0)
    kept = st.session_state.get(f"{key}.cine.masks")
    if kept is not None and kept[0] == signature:
        return kept[1]
    segment = ModelSegmenter(case.key, checkpoint=model.checkpoint, predictor=predictor)
    with st.spinner(f"Segmenting all {cine.n_phases} phases…"):
        masks = segment_phases(cine, segment)
    st.session_state[f"{key}.cine.masks"] = (signature, masks)
    return masks


def _phase_label(cine: CineSeries, auto: CineResult, t: int) -> str:
    when = f" · {cine.trigger_times_ms[t]:.0f} ms" if cine.trigger_times_ms else ""
    return f"phase {t}{when} · {auto.cavity_volumes_ml[t]:.1f} ml"


def render_cine_section(case: CaseStudy, item, model, key: str, predictor) -> None:
    """Phases found, the ED/ES choice (automatic or picked), EDV/ESV/SV/EF and the volume curve."""
    if not is_cine_upload(case, item):
        return
    st.markdown(f"#### {icons.HEART} Whole cine: EDV, ESV and ejection fraction")
    cine = _cine(item.upload_key, key)
    if cine is None:
        return
    if isinstance(cine, str):
        st.error(plain(cine), icon=icons.ERROR)
        return
    try:
        masks = _masks(case, item, cine, model, key, predictor)
        auto = function_from_masks(cine, masks)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    warning = predictor.load(model.checkpoint).card.quality_warning(case.metrics[0] if case.metrics else None)
    if warning:  # volumes and EF from a poor segmenter look as precise as good ones: say so first
        st.warning(warning, icon=icons.WARNING)
    z = cine.phases[0].spatial_shape[0]
    st.text(f"{cine.n_phases} phases found at {z} slice positions in {cine.source}.")
    options = [AUTO, *range(cine.n_phases)]
    left, right = st.columns(2)
    ed = left.selectbox("End-diastole (ED)", options, key=f"{key}.cine.ed",
                        format_func=lambda t: f"automatic: {_phase_label(cine, auto, auto.ed_phase)} (largest cavity)"
                        if t == AUTO else _phase_label(cine, auto, t),
                        help="ED is the fullest ventricle: by default the phase with the largest LV cavity.")
    es = right.selectbox("End-systole (ES)", options, key=f"{key}.cine.es",
                         format_func=lambda t: f"automatic: {_phase_label(cine, auto, auto.es_phase)} "
                         "(smallest cavity)" if t == AUTO else _phase_label(cine, auto, t),
                         help="ES is the emptiest ventricle: by default the phase with the smallest LV cavity.")
    try:
        result = function_from_masks(cine, masks, None if ed == AUTO else ed, None if es == AUTO else es)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    _metrics(result)
    table, curve = st.columns([2, 3], gap="large")
    with table:
        st.table(phase_table(result))  # text cells: no trailing zeros, no clipping
    with curve:
        figure = volume_curve(result.cavity_volumes_ml, result.ed_phase, result.es_phase, first=0,
                              title="LV cavity volume (from the model's masks)")
        st.plotly_chart(projector.style_chart(figure), width="stretch", key=f"{key}.cine.curve")
    st.text(f"End-diastole: phase {result.ed_phase} ({result.ed_reason}).\n"
            f"End-systole: phase {result.es_phase} ({result.es_reason}).")
    st.text("\n".join(f"Note: {note}" for note in result.notes))
    st.caption(f"Published Sunnybrook group means: normal EF 62.9 %, heart failure with infarction 32.0 % "
               f"(Radau et al. 2009). Below: the model's answer on phase {item.image.meta.get('phase_index', 0)} "
               "alone, the volume the viewer shows.")


def _metrics(result: CineResult) -> None:
    values = (("EDV", f"{result.edv_ml:.0f} ml"), ("ESV", f"{result.esv_ml:.0f} ml"),
              ("Stroke volume", f"{result.stroke_volume_ml:.0f} ml"), ("EF", f"{result.ef_percent:.1f} %"),
              ("Myocardial mass", f"{result.myocardial_mass_g:.0f} g"))
    for column, (label, value) in zip(st.columns(len(values)), values):
        column.metric(label, value)


def phase_table(result: CineResult) -> pd.DataFrame:
    """One row per phase, as text: trigger time, cavity and myocardium volumes, ED / ES marks."""
    marks = {result.ed_phase: "ED", result.es_phase: "ES"}
    return pd.DataFrame([{"phase": str(t), "trigger time (ms)": _ms(result.trigger_time(t)),
                          "LV cavity (ml)": f"{v:.1f}", "myocardium (ml)": f"{result.myocardium_volumes_ml[t]:.1f}",
                          "ED / ES": marks.get(t, "")} for t, v in enumerate(result.cavity_volumes_ml)])


def _ms(value) -> str:
    return "—" if value is None else f"{value:.0f}"
