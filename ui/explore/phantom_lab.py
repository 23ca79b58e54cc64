"""The Phantom lab: move a generative parameter, see the synthetic case change at once.

Sliders come from ``medlearn.data.phantoms.param_specs(case)``; a parameter whose
default is None is drawn at random (from the difficulty-dependent prior) unless the
student unticks "random". The ground truth of a phantom is exact, so the page shows
the drawn parameters beside the picture.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.phantoms import generate, get_generator, param_specs
from medlearn.errors import MedlearnError
from ui.shared import cache
from ui.shared.text import plain
from ui.shared.viewers import mask_names, show_image

STRIP = 6  # phantoms shown in the "same settings, other seeds" strip
SCAN = 200  # seeds searched for a phantom of a chosen class
MAX_SEED = 10_000


def render_phantom_lab(case: CaseStudy, wanted: int | None = None) -> tuple | None:
    """Parameter controls, the phantom with its ground truth, and the drawn parameters.

    Args:
        case: the case study.
        wanted: a class index to show only phantoms of that class (the first seeds, from the
            chosen one, whose label it is), or None for every seed.

    Returns:
        (image, mask, caption) of the phantom shown, or None when none could be drawn.
    """
    st.markdown("**Phantom lab**: every change redraws the phantom at once; the ground truth is exact.")
    seed_col, difficulty_col = st.columns(2)
    seed = int(seed_col.number_input("Seed", 0, MAX_SEED, 0, key=f"lab.{case.key}.seed",
                                     help="Same seed and settings, same phantom."))
    difficulty = difficulty_col.slider("Difficulty", 0.0, 1.0, 0.5, 0.05, key=f"lab.{case.key}.difficulty",
                                       help="Higher: subtler findings, more noise, classes closer together.")
    specs = param_specs(case.key)
    with st.expander(f"Generative parameters ({len(specs)}): drawn at random unless you fix them"):
        params = tuple(sorted(_param_controls(case, specs).items()))
    seeds = list(range(seed, min(seed + STRIP + 1, MAX_SEED + 1)))
    if wanted is not None:
        try:
            seeds = class_seeds(case.key, seed, float(difficulty), params, wanted, STRIP + 1) or seeds
        except MedlearnError:
            pass  # the same error is shown below when the phantom itself is drawn
    try:
        phantom = cache.phantoms(case.key, seeds[0], float(difficulty), params)[0]
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return None
    caption = f"Synthetic {case.title} phantom, seed {seeds[0]}"
    if wanted is not None:
        _class_note(case, wanted, seed, seeds[0], phantom.label)
    _headline(case, phantom, specs)
    show_image(phantom.image, phantom.mask, class_names=mask_names(case, phantom=True),
               presets=case.window_presets, key=f"lab.{case.key}.view", caption=caption, link=True)
    with st.expander("All drawn parameters", expanded=False):
        st.dataframe(params_table(phantom.params), hide_index=True, width="stretch")
    _strip(case, seeds[1:], float(difficulty), params)
    return phantom.image, phantom.mask, caption


@st.cache_data(max_entries=32, show_spinner="Searching the seeds for phantoms of that class…")
def class_seeds(case: str, start: int, difficulty: float, params: tuple, label: int, count: int,
                scan: int = SCAN) -> list[int]:
    """The first ``count`` seeds from ``start`` (at most ``scan`` tried) whose phantom has ``label``.

    Labels are drawn with the phantom, so each seed is generated (a few ms to tens of ms each).
    """
    found = []
    for seed in range(start, min(start + scan, MAX_SEED + 1)):
        if generate(case, seed=seed, difficulty=difficulty, **dict(params))[0].label == label:
            found.append(seed)
            if len(found) == count:
                break
    return found


def _class_note(case: CaseStudy, wanted: int, start: int, shown: int, label) -> None:
    name = case.task.class_names[wanted]
    if label != wanted:
        st.warning(f"No {name} phantom among seeds {start}-{min(start + SCAN, MAX_SEED + 1) - 1} at these "
                   f"settings (fixed parameters can rule a class out); showing seed {start}.")
    elif shown != start:
        st.caption(f"Seed {shown}: the first {name} phantom from seed {start}.")


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
    # The slider keeps its own label (it wraps in a narrow column); a short "Random" tick box sits
    # under it. The box's value is read first (a rerun sees its new state) so the slider can be disabled.
    randomisable = spec.default is None
    random = randomisable and bool(st.session_state.get(f"{key}.random", True))
    start = spec.default if spec.default is not None else (spec.minimum + spec.maximum) / 2
    whole = all(float(v).is_integer() for v in (spec.step, spec.minimum, spec.maximum))
    cast = int if whole else float
    label, shift = one_based(spec)
    value = st.slider(label, cast(spec.minimum + shift), cast(spec.maximum + shift), cast(_snap(start, spec) + shift),
                      cast(spec.step), key=key, help=spec.help or None, disabled=random)
    if randomisable:
        random = st.checkbox("Random", value=True, key=f"{key}.random",
                             help=f"Draw {spec.label.lower()} at random; untick to fix it with the slider.")
    if not random:
        chosen[spec.name] = value - shift


def one_based(spec) -> tuple[str, int]:
    """(label, shift): index parameters (``slice_index``...) are shown counting from 1, like every
    slice and phase caption; the generator still receives the 0-based index (slider value - shift)."""
    if not spec.name.endswith("_index"):
        return spec.label, 0
    return re.sub(r"\(0 = ", "(1 = ", spec.label), 1


def _snap(value: float, spec) -> float:
    steps = round((value - spec.minimum) / spec.step) if spec.step else 0
    return min(max(spec.minimum + steps * spec.step, spec.minimum), spec.maximum)


ACRONYMS = {"edv", "esv", "ef", "dr", "irma", "hu", "lv"}
HIDDEN = {"case", "seed", "index", "difficulty", "size", "label"}


def _headline(case: CaseStudy, phantom, specs: list) -> None:
    """The class and up to four key numbers: clinical measurements first, then the generator's
    headline (its truth: a vessel phantom's vessel fraction before the grade it borrows), then
    parameters."""
    if phantom.label is not None and not case.task.is_segmentation:
        st.markdown(f"Ground-truth class: **{case.task.class_names[phantom.label]}**")
    order = [*case.measurements, *get_generator(case.key).headline, *(s.name for s in specs)]
    numbers = []
    for name in dict.fromkeys(order):
        value = phantom.params.get(name)
        if name not in HIDDEN and isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.append((name, value))
    for column, (name, value) in zip(st.columns(4), numbers[:4]):
        column.metric(pretty(name), f"{value:.3g}" if isinstance(value, float) else str(value))


def _strip(case: CaseStudy, seeds: list[int], difficulty: float, params: tuple) -> None:
    if not seeds:
        return
    consecutive = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    st.markdown(f"**Same settings, seeds {seeds[0]}-{seeds[-1]}**" if consecutive
                else f"**Same settings and class, seeds {', '.join(map(str, seeds))}**")
    thumbs = [cache.phantom_thumbnails(case.key, s, difficulty, params, 1)[0] for s in seeds]
    for column, (picture, label) in zip(st.columns(STRIP), thumbs):
        name = case.task.class_names[label] if label is not None and not case.task.is_segmentation else ""
        column.image(picture, caption=name or None, width="stretch")


def params_table(params: dict) -> pd.DataFrame:
    """The drawn parameters as a two-column table (values as text)."""
    rows = [{"parameter": pretty(k), "value": f"{v:.4g}" if isinstance(v, float) else str(v)}
            if not (k.endswith("_index") and isinstance(v, int)) else  # indices counted from 1 for people
            {"parameter": f"{pretty(k.removesuffix('_index'))} (from 1)", "value": str(v + 1)}
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
