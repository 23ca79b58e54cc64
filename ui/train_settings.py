"""The Train section's settings: which architectures race, on what data, with which sizes.

Architectures come from the model registry (``ui.architectures.compatible_models``), the
defaults from ``case.recipe``. Options the trainer cannot honour yet (pre-trained starting
weights, enhanced training images) are shown disabled with the reason, never faked.
In instructor mode the advanced controls are hidden and the recipe's values are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.sources import list_sources
from medlearn.models import get_spec
from ui import url_state
from ui.architectures import case_dims, compatible_models

SIZES = (16, 24, 32, 48, 64, 96, 128, 160, 224)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
NO_INIT_OPTION = ("the trainer (medlearn.train.train_recipe) always starts from random weights; "
                  "it has no option to start from other weights yet")
# Enhancements the literature applied before training, by modality (ACE: Adaptive Contrast
# Enhancement on breast ultrasound).
ENHANCEMENTS = {"US": "ACE-enhanced images (adaptive contrast enhancement)"}


@dataclass
class RaceRequest:
    """What the Start button queues: ``start_race(case, archs, source, **choices)``."""

    archs: list[str]
    source: str
    choices: dict = field(default_factory=dict)


def model_label(case: CaseStudy, name: str) -> str:
    """``"ResNet-18 · 2D slices"``: the title and what the model sees."""
    spec = get_spec(name)
    if spec.framework != "torch":
        return f"{spec.title} · classic baseline"
    dims = case_dims(spec, case)
    seen = {2: "2D slices" if case.task.spatial_dims == 3 else "2D", 3: "3D volumes"}[dims]
    return f"{spec.title} · {seen}"


def render_settings(case: CaseStudy, prefix: str, instructor: bool) -> RaceRequest:
    """Draw the settings; returns the request the Start button would queue."""
    names = [s.name for s in compatible_models(case)]
    key = f"{prefix}.archs"
    url_state.restore("arch", key, url_state.parse_list, names)
    if key not in st.session_state:
        st.session_state[key] = [a for a in case.recipe.architectures if a in names]
    archs = st.multiselect("Architectures in the race", names, key=key, format_func=lambda n: model_label(case, n),
                           help="The case's default architectures come pre-selected. Each trains in its own "
                                "process on the same training/validation split.")
    url_state.publish("arch", archs)
    if len(case.task.model_dims) > 1:
        st.caption("2D models see one axial slice at a time (the central slice for a diagnosis); 3D models see "
                   "the whole volume. The classic baseline uses hand-crafted features and scikit-learn.")
    _starting_weights(case, archs, prefix)
    _enhancement(case, prefix)
    return RaceRequest(archs, *_data_and_sizes(case, prefix, instructor))


def _data_and_sizes(case: CaseStudy, prefix: str, instructor: bool) -> tuple[str, dict]:
    r = case.recipe
    sources = [s for s in list_sources(case.key) if s.is_available()]
    titles = {s.name: s.title for s in sources}
    epochs_col, items_col, size_col, source_col = st.columns(4)
    choices = {
        "epochs": epochs_col.number_input("Epochs", 1, 50, r.epochs, key=f"{prefix}.epochs"),
        "n_train": items_col.number_input("Training images", 4, 5000, r.train_cases, step=10, key=f"{prefix}.n_train",
                                          help="Items (patients or volumes) in the training split."),
        "input_size": size_col.selectbox("Input size (px)", sorted({*SIZES, r.input_size}),
                                         index=sorted({*SIZES, r.input_size}).index(r.input_size),
                                         key=f"{prefix}.input_size", help="Images are resized to this side."),
    }
    source = source_col.selectbox("Data", list(titles), format_func=titles.get, key=f"{prefix}.source",
                                  help="Only sources on this machine are listed; download more on the Explore tab.")
    choices.update(batch_size=r.batch_size, learning_rate=r.learning_rate, n_val=r.val_cases, seed=0)
    if instructor:
        return source, choices
    with st.expander("Advanced: learning rate, batch size, validation, augmentation"):
        lr_col, batch_col, val_col, seed_col = st.columns(4)
        choices["learning_rate"] = lr_col.select_slider("Learning rate", sorted({*LEARNING_RATES, r.learning_rate}), value=r.learning_rate,
                                                        key=f"{prefix}.lr", format_func=lambda v: f"{v:g}")
        choices["batch_size"] = batch_col.number_input("Batch size", 1, 256, r.batch_size, key=f"{prefix}.batch")
        choices["n_val"] = val_col.number_input("Validation images", 1, 2000, r.val_cases, key=f"{prefix}.n_val")
        choices["seed"] = seed_col.number_input("Seed", 0, 10_000, 0, key=f"{prefix}.seed",
                                                help="Same seed: same split and same starting weights.")
        st.checkbox("Augmentation (random flips; 90° turns where orientation carries no meaning)", value=True,
                    disabled=True, key=f"{prefix}.augment",
                    help="Always on: the trainer has no switch to turn augmentation off yet.")
    return source, choices


def _starting_weights(case: CaseStudy, archs: list[str], prefix: str) -> None:
    """Pre-trained starting points, honestly: what exists on this machine, and why it is off."""
    if case.task.in_channels != 3 or case.task.is_segmentation:
        return
    from medlearn.models.pretrained import cached_path

    with_imagenet = [a for a in archs if get_spec(a).imagenet]
    cached = [a for a in with_imagenet if cached_path(a)]
    if not with_imagenet:
        imagenet = "none of the chosen architectures has ImageNet weights"
    elif not cached:
        imagenet = "no ImageNet weights are cached on this machine (MedLearn never downloads them by itself)"
    else:
        imagenet = f"cached for {', '.join(cached)}, but {NO_INIT_OPTION}"
    other = _other_case_runs(case, archs)
    medlearn = (f"checkpoints exist ({', '.join(other)}), but {NO_INIT_OPTION}" if other
                else "no chosen architecture has been trained on another MedLearn case yet")
    st.markdown("**Starting weights:** from scratch (random initialisation).")
    left, right = st.columns(2)
    left.checkbox("Pre-trained on ImageNet", value=False, disabled=True, key=f"{prefix}.imagenet", help=imagenet)
    left.caption(f"Unavailable: {imagenet}.")
    right.checkbox("Pre-trained on another MedLearn dataset", value=False, disabled=True,
                   key=f"{prefix}.medlearn_init", help=medlearn)
    right.caption(f"Unavailable: {medlearn}.")


def _other_case_runs(case: CaseStudy, archs: list[str]) -> list[str]:
    from pathlib import Path

    from ui.jobs import manager

    found = []
    for run in manager().store.list_runs(status="done"):
        if run.arch in archs and run.case != case.key and run.checkpoint and Path(run.checkpoint).is_file():
            found.append(f"{run.arch} on {run.case}")
    return sorted(set(found))


def _enhancement(case: CaseStudy, prefix: str) -> None:
    """Raw vs enhanced training images for the same network, where the literature used it."""
    name = ENHANCEMENTS.get(case.modality)
    if name is None:
        return
    st.checkbox(f"Also race each network on {name}", value=False, disabled=True, key=f"{prefix}.enhanced",
                help="The training data adapter (medlearn.train.data) has no enhancement step and no data "
                     "source serves enhanced copies yet; see the Explore tab to compare ACE by eye.")
    st.caption("Unavailable: the trainer's data adapter has no enhancement option yet.")
