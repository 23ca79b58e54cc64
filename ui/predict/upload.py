"""Upload panel: read the student's file, say what was read, show it, suggest a case.

What was read from the upload and the files' names live in session state under
``upload.*`` keys, so the picture stays after an error elsewhere or a page switch (the
bytes too, for a cine only: its Predict section reads every phase). Reading happens once
per new upload, not on every rerun.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy, list_cases
from medlearn.data.image import MedImage, downsampled
from medlearn.data.io import MAX_UPLOAD_MIB, read_image
from medlearn.data.io.limits import MAX_SESSION_VALUES
from medlearn.data.sources import list_sources
from medlearn.errors import MedlearnError
from ui.shared import icons
from ui.shared.text import plain
from ui.shared.viewers import show_image

FORMATS = "PNG, JPEG, TIFF, DICOM (one file, several slices, or a zip), NIfTI (.nii/.nii.gz), NumPy (.npy/.npz)"
THIN_STACK = 20  # an MR volume with at most this many slices is a stack of 2D slices (short axis)
LARGE_READ_BYTES = 32 * 1024 * 1024
# One large upload is taken in at a time per server: copying its bytes, decoding them (about
# twice the file's pixels for a moment) and keeping a bounded copy (``downsampled``) happen
# under this lock, so twenty students sending a volume at once hold one decode, not twenty;
# the others wait their turn, and each checks the free memory when it starts (issue 12).
_large_uploads = threading.BoundedSemaphore(1)


@dataclass(frozen=True)
class Suggestion:
    """Which case fits an image: ``case`` when sure, else the ``candidates`` to ask about."""

    case: str | None
    reason: str
    candidates: tuple[str, ...] = ()


def suggest_case(image: MedImage, cases: list[CaseStudy] | None = None) -> Suggestion:
    """Match an image to a case by modality, dimensionality and colour (from the registry).

    A modality shared by several cases (MR) is settled by dimensionality; a thin MR stack
    counts as 2D slices. Pictures without a modality (a plain photo) get candidates.
    """
    cases = list_cases(studies=True) if cases is None else cases
    dims = image.spatial_dims
    if dims == 3 and image.modality == "MR" and image.shape[0] <= THIN_STACK < min(image.shape[1:]):
        dims = 2
    same = [c for c in cases if c.modality == image.modality]
    same = _without_studies_of(same)
    if len(same) > 1:
        same = [c for c in same if c.task.spatial_dims == dims] or same[:0]
    if len(same) == 1:
        c = same[0]
        return Suggestion(c.key, f"{image.modality} {dims}D {'colour' if image.is_rgb else 'grey'} image: "
                                 f"this looks like the {c.title} case.")
    colour = [c.key for c in _without_studies_of(cases) if (c.task.in_channels == 3) == image.is_rgb
              and dims in (c.task.spatial_dims, *c.task.model_dims)]
    kind = "colour picture" if image.is_rgb else f"grey {dims}D image"
    return Suggestion(None, f"A {kind} with modality {image.modality!r}: which case is it?", tuple(colour))


def _without_studies_of(cases: list[CaseStudy]) -> list[CaseStudy]:
    """The cases, less the further studies whose own case is among them: a study reads the same
    kind of image as its case and is picked on that case's page (:func:`_suggestion_panel`)."""
    keys = {c.key for c in cases}
    return [c for c in cases if c.parent not in keys]


def uploaded_image(key: str = "upload") -> MedImage | None:
    """The uploader widget; returns the current image (new or kept from before).

    Args:
        key: session-state namespace (``upload`` on the Try page, ``predict.<case>.upload`` on a case page).
    """
    generation = st.session_state.get(f"{key}.generation", 0)  # a new uploader after a large file is released
    files = st.file_uploader(
        "Upload an image", accept_multiple_files=True, max_upload_size=MAX_UPLOAD_MIB,
        key=f"{key}.widget" + (f".{generation}" if generation else ""),
        help=f"Accepted: {FORMATS}, up to {MAX_UPLOAD_MIB} MiB per file. Several files are read as one DICOM series.",
    )
    if files:
        signature = tuple((f.file_id, f.name, f.size) for f in files)
        if st.session_state.get(f"{key}.signature") != signature:
            st.session_state[f"{key}.signature"] = signature
            st.session_state.pop(f"{key}.case", None)  # a new file starts a new suggestion
            large = sum(f.size for f in files) > LARGE_READ_BYTES
            with _large_uploads if large else nullcontext():
                given = [(f.name, f.getvalue()) for f in files]
                kept, note = one_picture(given, st.session_state.get(f"{key}.files") or [])
                result = read_upload(kept)
                # The bytes stay only for a cine (its Predict section reads every phase again); else
                # the names do, so a session never holds a large file twice (issue 12: memory).
                cine = isinstance(result, MedImage) and int(result.meta.get("phases") or 1) > 1
                if isinstance(result, MedImage):
                    result = downsampled(result, MAX_SESSION_VALUES)
                st.session_state[f"{key}.files"] = kept if cine else [(name, b"") for name, _ in kept]
                st.session_state[f"{key}.note"], st.session_state[f"{key}.result"] = note, result
                del given, kept
            if isinstance(result, MedImage) and large:
                _release(files, key)  # Streamlit's own copy of a large file goes too
        if st.session_state.get(f"{key}.note"):
            st.caption(plain(st.session_state[f"{key}.note"]))
    elif f"{key}.files" in st.session_state:
        names = ", ".join(name for name, _ in st.session_state[f"{key}.files"])
        st.caption(plain(f"Showing your earlier upload: {names}."))
        if st.button("Forget this upload", key=f"{key}.forget"):
            for k in ("signature", "files", "result"):
                st.session_state.pop(f"{key}.{k}", None)
            st.rerun()
    result = st.session_state.get(f"{key}.result")
    if isinstance(result, str):
        st.error(plain(result), icon=icons.ERROR)
        return None
    return result


def _release(files, key: str) -> None:
    """Free the server's copy of large uploaded files once read: remove them from Streamlit's
    upload store (as its chat input does) and start a fresh uploader; the page then shows
    "your earlier upload", kept in this session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None:
        for f in files:
            ctx.uploaded_file_mgr.remove_file(session_id=ctx.session_id, file_id=f.file_id)
    st.session_state[f"{key}.generation"] = st.session_state.get(f"{key}.generation", 0) + 1
    st.session_state.pop(f"{key}.signature", None)
    st.rerun()


def one_picture(files: list[tuple[str, bytes]], before: list[tuple[str, bytes]]):
    """The files to read, and a note when some were set aside: several files are one DICOM
    series; several pictures (a second one added with "+") mean the newest replaces the others."""
    from medlearn.data.io.detect import HEAD_BYTES, sniff

    if len(files) < 2 or all(sniff(data[:HEAD_BYTES]) == "dicom" for _, data in files):
        return files, None
    seen = {name for name, _ in before}
    new = [f for f in files if f[0] not in seen] or files
    chosen = new[-1]
    return [chosen], (f"{len(files)} files were given and they are not the slices of one DICOM series: "
                      f"showing the newest, {chosen[0]}. Remove the others with their ×, or upload a folder "
                      "or zip of DICOM slices to read a series.")


def read_upload(files: list[tuple[str, bytes]]) -> MedImage | str:
    """A MedImage, or the student-readable message of why the files cannot be read.

    A cine whose slice positions hold uneven numbers of frames is no single volume for
    ``read_image``; its first phase over the complete positions is shown instead
    (``medlearn.data.io.cine``), and the Predict section measures the whole cine.
    """
    try:
        return read_image(files[0][1], files[0][0]) if len(files) == 1 else read_image(files)
    except MedlearnError as exc:
        from medlearn.data.io.cine import read_cine

        try:
            cine = read_cine(files)
        except MedlearnError:
            return str(exc)
        return cine.phases[0] if cine.n_phases > 1 else str(exc)


def facts_table(image: MedImage) -> pd.DataFrame:
    """What was read, in words: format, shape, spacing, modality, window..."""
    d = image.describe()
    rows = {
        "Format": d["format"] or "unknown",
        "Shape": " × ".join(map(str, d["shape"])) + (" (colour)" if d["rgb"] else ""),
        "Dimensions": f"{d['spatial_dims']}D",
        "Spacing (mm)": " × ".join(f"{s:g}" for s in d["spacing_mm"]) if d["spacing_known"]
        else "no pixel spacing in the file",
        "Orientation": d["orientation"],
        "Modality": d["modality"],
        "Data type": d["dtype"],
        "Intensity range": f"{d['min']:g} to {d['max']:g}",
        "Window": f"{d['window']['name']}: L{d['window']['center']:g} / W{d['window']['width']:g}",
    }
    return pd.DataFrame({"property": list(rows), "value": list(rows.values())})


def render_upload() -> tuple[MedImage | None, CaseStudy | None]:
    """The whole "Try your own image" body below the page title; returns (image, chosen case)."""
    image = uploaded_image()
    if image is None:
        return None, None
    facts, advice = st.columns([2, 3], gap="large")
    with facts:
        st.markdown("**What MedLearn read**")
        st.dataframe(facts_table(image), hide_index=True, width="stretch")
        for note in image.reading_notes():  # what the reader chose or corrected, beside the image
            st.caption(f"{icons.INFO} {plain(note)}")
        with st.expander("Full metadata (JSON)"):
            st.json(image.describe(), expanded=False)
    with advice:
        case = _suggestion_panel(image)
    presets = case.window_presets if case is not None else ()
    show_image(image, None, presets=presets, key="upload.view", caption=plain(f"Your upload: {image.source}"))
    return image, case


def _suggestion_panel(image: MedImage) -> CaseStudy | None:
    cases = {c.key: c for c in list_cases(studies=True)}
    suggestion = suggest_case(image, list(cases.values()))
    st.markdown(f"**Matching case.** {suggestion.reason}")
    key = suggestion.case
    if key is None and suggestion.candidates:
        key = st.radio("Pick the case that fits", suggestion.candidates, key="upload.case",
                       format_func=lambda k: f"{cases[k].icon} {cases[k].title}", index=None)
    if key is None:
        if not suggestion.candidates:
            st.info("No case study uses this kind of image yet; you can still look at it below.")
        return None
    studies = [k for k, c in cases.items() if c.parent == key]
    if studies:  # the case's further studies read the same kind of image: the student picks the task
        key = st.radio("Which of its studies?", [key, *studies], key="upload.study", horizontal=True,
                       format_func=lambda k: cases[k].study or cases[k].title)
    case = cases[key]
    from ui.shared.case_page import section_slug

    study = {"study": section_slug(case.study)} if case.parent else None  # a further study: its page's picker
    st.page_link(f"pages/{case.page_key}.py", label=f"Open the {case.title} case", icon=case.icon,
                 query_params=study)
    st.caption(case.question)
    return case


@dataclass(frozen=True)
class PredictInput:
    """An image to predict on, with its truth when known (phantoms, labelled samples).

    Attributes:
        image: the image. label: true class index or None. mask: true label map or None.
        id: stable identity (source and index) so results are reused across reruns.
        what: a caption in words.
        upload_key: session-state namespace of the upload it came from (its files), else "".
        meta: the sample's facts (``Sample.meta``: which classes its experts drew, ...), else empty.
    """

    image: MedImage
    label: int | None
    mask: np.ndarray | None
    id: str
    what: str
    upload_key: str = ""
    meta: dict = field(default_factory=dict)


def pick_input(case: CaseStudy, key: str, trained_on: str | None = None) -> PredictInput | None:
    """Phantom, dataset sample or upload: the student's choice of image for the Predict section.
    ``trained_on``: the answering model's training data; a model trained on real data opens on
    a sample of that data (a phantom would first show it out of its depth)."""
    from ui.shared import cache
    samples = [s for s in list_sources(case.key) if s.kind != "phantom" and s.is_available()]
    kinds = ["Phantom", *(["Dataset sample"] if samples else []), "Upload"]
    real = trained_on not in (None, "phantoms") and any(s.name == trained_on for s in samples)
    if real and f"{key}.source" not in st.session_state:
        st.session_state[f"{key}.source"] = trained_on
    kind = st.radio("Image", kinds, horizontal=True, key=f"{key}.input", index=kinds.index("Dataset sample") if real else 0,
                    help="Phantoms and dataset samples come with their truth; an upload does not.")
    if kind == "Upload":
        image = uploaded_image(f"{key}.upload")
        return None if image is None else PredictInput(image, None, None, f"upload:{image.source}:{image.shape}",
                                                       plain(f"Your upload: {image.source}"), f"{key}.upload")
    left, right = st.columns(2)
    if kind == "Phantom":
        seed = int(left.number_input("Phantom seed", 0, 10_000, 0, key=f"{key}.seed"))
        difficulty = float(right.slider("Difficulty", 0.0, 1.0, 0.5, 0.05, key=f"{key}.difficulty"))
        try:
            ph = cache.phantoms(case.key, seed, difficulty, ())[0]
        except MedlearnError as exc:
            st.error(plain(str(exc)))
            return None
        return PredictInput(ph.image, ph.label, ph.mask, f"phantom:{seed}:{difficulty}",
                            f"Synthetic phantom, seed {seed}, difficulty {difficulty:.2f}")
    sources = {s.name: s for s in samples}
    name = left.selectbox("Dataset", list(sources), format_func=lambda n: sources[n].title, key=f"{key}.source")
    try:
        items = cache.load_samples(name, case.key, 24)
    except MedlearnError as exc:
        st.error(plain(str(exc)))
        return None
    if not items:
        st.info("This dataset has no samples for this case.")
        return None
    index = int(right.number_input("Sample", 0, len(items) - 1, 0, key=f"{key}.sample"))
    s = items[index]
    return PredictInput(s.image, s.label, s.mask, f"{name}:{s.id}", f"{sources[name].title}: {s.id}",
                        meta=s.meta)
