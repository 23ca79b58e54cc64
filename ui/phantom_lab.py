"""The Phantom lab: move a generative parameter, see the synthetic case change at once.

Sliders come from ``medlearn.data.phantoms.param_specs(case)``; a parameter whose
default is None is drawn at random (from the difficulty-dependent prior) unless the
student unticks "random". The ground truth of a phantom is exact, so the page shows
the drawn parameters beside the picture.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.phantoms import param_specs
from medlearn.errors import MedlearnError
from ui import cache
from ui.viewers import mask_names, show_image

STRIP = 6  # phantoms shown in the "same settings, other seeds" strip


def render_phantom_lab(case: CaseStudy) -> None:
    """Parameter controls, the phantom with its ground truth, and the drawn parameters."""
    st.markdown("**Phantom lab**: every change redraws the phantom at once; the ground truth is exact.")
    seed_col, difficulty_col = st.columns(2)
    seed = seed_col.number_input("Seed", 0, 10_000, 0, key=f"lab.{case.key}.seed",
                                 help="Same seed and settings, same phantom.")
    difficulty = difficulty_col.slider("Difficulty", 0.0, 1.0, 0.5, 0.05, key=f"lab.{case.key}.difficulty",
                                       help="Higher: subtler findings, more noise, classes closer together.")
    specs = param_specs(case.key)
    with st.expander(f"Generative parameters ({len(specs)}): drawn at random unless you fix them"):
        params = tuple(sorted(_param_controls(case, specs).items()))
    try:
        phantom = cache.phantoms(case.key, int(seed), float(difficulty), params)[0]
    except MedlearnError as exc:
        st.error(str(exc))
        return
    _headline(case, phantom, specs)
    show_image(phantom.image, phantom.mask, class_names=mask_names(case, phantom=True),
               presets=case.window_presets, key=f"lab.{case.key}.view",
               caption=f"Synthetic {case.title} phantom, seed {seed}")
    with st.expander("All drawn parameters", expanded=False):
        st.dataframe(params_table(phantom.params), hide_index=True, width="stretch")
    _strip(case, int(seed), float(difficulty), params)


def _param_controls(case: CaseStudy, specs: list) -> dict[str, object]:
    chosen: dict[str, object] = {}
    columns = st.columns(3, gap="medium")
    for number, spec in enumerate(specs):
        with columns[number % 3]:
            parameter_control(spec, chosen, f"lab.{case.key}")
    return chosen


def parameter_control(spec, chosen: dict[str, object], prefix: str) -> None:
    """A select box (choices) or a slider with a "random" tick box; fills ``chosen``.

    Args:
        spec: the generator's ParamSpec. chosen: name -> value of fixed parameters.
        prefix: widget-key namespace (``"lab.heart"``...).
    """
    key = f"{prefix}.{spec.name}"
    if spec.choices:
        options = (["random"] if spec.default is None else []) + list(spec.choices)
        value = st.selectbox(spec.label, options, key=key, help=spec.help or None)
        if value != "random":
            chosen[spec.name] = value
        return
    random = spec.default is None and st.checkbox(f"Random: {spec.label}", value=True, key=f"{key}.random")
    start = spec.default if spec.default is not None else (spec.minimum + spec.maximum) / 2
    whole = all(float(v).is_integer() for v in (spec.step, spec.minimum, spec.maximum))
    cast = int if whole else float
    value = st.slider(spec.label, cast(spec.minimum), cast(spec.maximum), cast(_snap(start, spec)),
                      cast(spec.step), key=key, help=spec.help or None, disabled=random,
                      label_visibility="collapsed" if random else "visible")
    if not random:
        chosen[spec.name] = value


def _snap(value: float, spec) -> float:
    steps = round((value - spec.minimum) / spec.step) if spec.step else 0
    return min(max(spec.minimum + steps * spec.step, spec.minimum), spec.maximum)


ACRONYMS = {"edv", "esv", "ef", "dr", "irma", "hu", "lv"}
HIDDEN = {"case", "seed", "index", "difficulty", "size", "label"}


def _headline(case: CaseStudy, phantom, specs: list) -> None:
    """The class and up to four key numbers: clinical measurements first, then parameters."""
    if phantom.label is not None and not case.task.is_segmentation:
        st.markdown(f"Ground-truth class: **{case.task.class_names[phantom.label]}**")
    order = [*case.measurements, *(s.name for s in specs)]
    numbers = []
    for name in dict.fromkeys(order):
        value = phantom.params.get(name)
        if name not in HIDDEN and isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.append((name, value))
    for column, (name, value) in zip(st.columns(4), numbers[:4]):
        column.metric(pretty(name), f"{value:.3g}" if isinstance(value, float) else str(value))


def _strip(case: CaseStudy, seed: int, difficulty: float, params: tuple) -> None:
    st.markdown(f"**Same settings, seeds {seed + 1}-{seed + STRIP}**")
    thumbs = cache.phantom_thumbnails(case.key, seed + 1, difficulty, params, STRIP)
    for column, (picture, label) in zip(st.columns(STRIP), thumbs):
        name = case.task.class_names[label] if label is not None and not case.task.is_segmentation else ""
        column.image(picture, caption=name or None, width="stretch")


def params_table(params: dict) -> pd.DataFrame:
    """The drawn parameters as a two-column table (values as text)."""
    rows = [{"parameter": pretty(k), "value": f"{v:.4g}" if isinstance(v, float) else str(v)}
            for k, v in params.items()]
    return pd.DataFrame(rows, columns=["parameter", "value"])


def pretty(name: str) -> str:
    """``"nodule_diameter_mm"`` -> ``"Nodule diameter (mm)"``."""
    words = [w.upper() if w in ACRONYMS else w for w in name.split("_")]
    unit = words.pop() if len(words) > 1 and words[-1] in {"mm", "ml", "mm3", "percent", "g", "px"} else ""
    unit = {"mm3": "mm³", "percent": "%"}.get(unit, unit)
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text
