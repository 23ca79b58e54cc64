"""The data browser of a case page: pick a source, see a grid of samples, open one.

Sources come from ``medlearn.data.sources.list_sources(case)``; nothing here names a
dataset. Downloads start only when the student presses "Download".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage
from medlearn.data.sources import list_sources
from medlearn.errors import MedlearnError
from medlearn.explain.overlay import label_colour
from ui.shared import cache, url_state
from ui.explore.phantom_lab import render_phantom_lab
from ui.shared.text import plain
from ui.shared.viewers import mask_names, show_image

GRID_COLUMNS = 6
PAGE_SIZE = 12
ALL_CLASSES = "All"
LIMITS = [12, 24, 48, cache.MAX_SAMPLES]  # "Samples to load" choices


@dataclass(frozen=True)
class Shown:
    """The case the browser has open: what the case's extras measure (no second viewer needed)."""

    image: MedImage
    mask: np.ndarray | None
    caption: str


def shown_sample(case: CaseStudy) -> Shown | None:
    """The image (and ground truth) open in the data browser in this run, or None."""
    return st.session_state.get(f"browser.{case.key}.shown")


def render_browser(case: CaseStudy) -> None:
    """Source picker (and class filter), then the phantom lab or the sample grid and viewer."""
    st.session_state.pop(f"browser.{case.key}.shown", None)
    sources = {s.name: s for s in list_sources(case.key)}
    if not sources:
        st.info("No data source is registered for this case.")
        return
    names = list(sources)
    left, right = st.columns([2, 1]) if not case.task.is_segmentation else (st.container(), None)
    name = left.selectbox(
        "Data source", names, key=f"browser.{case.key}.source",
        format_func=lambda n: sources[n].title + ("" if sources[n].is_available() else " (not on this machine)"),
        help="Where the images come from. Synthetic phantoms are always available.",
    )
    wanted = class_filter(case, right) if right is not None else None
    source = sources[name]
    st.caption(source_caption(source, case.key))
    shown = None
    if source.kind == "phantom":
        shown = render_phantom_lab(case, wanted)
    elif not source.is_available():
        _unavailable(source)
    else:
        shown = _samples(case, source, wanted)
    if shown is not None:
        st.session_state[f"browser.{case.key}.shown"] = Shown(*shown)


def class_filter(case: CaseStudy, column) -> int | None:
    """"All" or one class of a classification case (in the URL as ``?class=``); its index or None."""
    key = f"browser.{case.key}.class"
    options = [ALL_CLASSES, *case.task.class_names]
    url_state.restore("class", key, options=options)
    chosen = column.selectbox("Show class", options, key=key,
                              help="Only cases of this class: phantoms are searched seed by seed from the "
                                   "chosen seed, loaded samples are filtered.")
    url_state.publish("class", None if chosen == ALL_CLASSES else chosen)
    return None if chosen == ALL_CLASSES else options.index(chosen) - 1


def source_caption(source, case: str | None = None) -> str:
    """Description (of what the source holds for ``case``, when it says so per case), licence and
    citation of a source in one Markdown line."""
    describe = getattr(source, "description_for", None)
    bits = [describe(case) if describe is not None and case is not None else getattr(source, "description", "")]
    if source.licence:
        bits.append(f"Licence: {source.licence}.")
    if source.citation:
        bits.append(f"Cite: {source.citation}")
    if source.url:
        bits.append(f"[{source.url}]({source.url})")
    return " ".join(b for b in bits if b)


def _unavailable(source) -> None:
    reason = _why_unavailable(source)
    if source.kind != "download":
        st.info(reason)
        return
    st.info(reason + " Nothing is downloaded until you press the button.")
    if st.button(f"Download {source.title}", key=f"browser.download.{source.name}", type="primary"):
        bar = st.progress(0.0, text="Starting download…")

        def progress(done: int, total: int) -> None:
            fraction = float(done) / float(total) if total else 0.0
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"Downloading {source.title}: {fraction:.0%}")

        try:
            message = source.fetch(progress=progress)
        except MedlearnError as exc:
            st.error(plain(str(exc)))
            return
        bar.progress(1.0, text=message or f"{source.title} is ready.")
        cache.load_samples.clear()
        cache.sample_thumbnails.clear()
        st.rerun()


def _why_unavailable(source) -> str:
    """The source's own status line, e.g. how to import a folder or what a download holds."""
    status = source.status()
    if status.startswith(f"{source.name}: "):
        status = status[len(source.name) + 2 :]
    return f"{source.title}: {status}." if not status.endswith(".") else f"{source.title}: {status}"


def _samples(case: CaseStudy, source, wanted: int | None = None) -> tuple | None:
    """Grid and viewer of the loaded samples (those of class ``wanted`` only, when given).

    Returns (image, mask, caption) of the opened sample, or None.
    """
    limit = st.select_slider("Samples to load", options=LIMITS, value=24,
                             key=f"browser.{case.key}.{source.name}.limit")
    try:
        samples = cache.load_samples(source.name, case.key, limit)
        thumbs = cache.sample_thumbnails(source.name, case.key, limit)
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return None
    if not samples:
        st.info(f"{source.title} has no samples for this case.")
        return None
    labels = [sample_label(case, s) for s in samples]
    indices = filter_indices(samples, wanted)
    if not indices:
        st.info(no_match_words(len(samples), limit, source.title, case.task.class_names[wanted]))
        return None
    _grid([thumbs[i] for i in indices], [labels[i] for i in indices], case, source,
          any(samples[i].mask is not None for i in indices))
    # The select box's value stays the index in the loaded list (the URL's ``sample``), filter or not.
    key = f"browser.{case.key}.{source.name}.open"
    if st.session_state.get(key, indices[0]) not in indices:
        st.session_state[key] = indices[0]
    index = st.selectbox("Open a sample", indices, format_func=lambda i: labels[i], key=key)
    sample = samples[index]
    note = str(sample.meta.get("note") or "")  # what the source says of this one image
    show_image(sample.image, sample.mask, class_names=mask_names(case), presets=case.window_presets,
               key=f"view.{case.key}", caption=f"{labels[index]} · {note}" if note else labels[index], link=True)
    return sample.image, sample.mask, labels[index]


def no_match_words(loaded: int, limit: int, title: str, class_name: str) -> str:
    """Why the class filter shows nothing, and what would help: more samples only when the
    source may hold more than were loaded (it gave ``limit`` and a larger load can be asked for)."""
    words = f"None of the {loaded} loaded sample{'s' if loaded != 1 else ''} is {class_name}"
    if loaded < limit:
        return f"{words}, and {title} has no more for this case: show all classes or choose another data source."
    if limit < LIMITS[-1]:
        return f"{words}: load more samples or show all classes."
    return f"{words} (the most the browser loads at once): show all classes or choose another data source."


def filter_indices(samples: list, wanted: int | None) -> list[int]:
    """Positions of the samples whose label is ``wanted`` (all of them when ``wanted`` is None)."""
    return [i for i, s in enumerate(samples) if wanted is None or s.label == wanted]


def _grid(thumbs, labels, case, source, masks: bool = True) -> None:
    pages = (len(thumbs) + PAGE_SIZE - 1) // PAGE_SIZE
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"browser.{case.key}.{source.name}.page")
    start = (page - 1) * PAGE_SIZE
    columns = st.columns(GRID_COLUMNS)
    for offset, (thumb, label) in enumerate(zip(thumbs[start : start + PAGE_SIZE], labels[start : start + PAGE_SIZE])):
        columns[offset % GRID_COLUMNS].image(thumb, caption=label, width="stretch")
    st.caption(f"Samples {start + 1}-{min(start + PAGE_SIZE, len(thumbs))} of {len(thumbs)}"
               + ("; ground-truth masks in {} (label 1) and {} (label 2).".format(
                   *(label_colour(v, case.task.in_channels == 3)[0] for v in (1, 2))) if masks else
                  "; no ground-truth masks with these."))


def sample_label(case: CaseStudy, sample) -> str:
    """``"busi-012 · malignant"``: the sample's id and its class name when labelled."""
    names = case.task.class_names
    if sample.label is None or case.task.is_segmentation:
        return str(sample.id)
    name = names[sample.label] if 0 <= sample.label < len(names) else f"class {sample.label}"
    return f"{sample.id} · {name}"
