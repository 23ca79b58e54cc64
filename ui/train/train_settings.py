"""The Train section's settings: which architectures race, on what data, with which sizes.

Architectures come from the model registry (``ui.train.architectures.compatible_models``), the
defaults from ``case.recipe``. Starting weights (ImageNet when cached, or a MedLearn run of
the same network on another case) and enhanced training images (ACE for ultrasound) add a
second *variant* of each network to the race, labelled honestly; an option this machine
cannot honour is shown disabled with the reason, never faked. In instructor mode the
advanced controls are hidden and the recipe's values are used.

Overfitting dials (advanced): the share of the training data used and the share of its
labels flipped; once moved, each network can race a twin on all the data with true labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.data.sources import list_sources
from medlearn.models import get_spec
from ui.shared import icons, url_state
from ui.train.architectures import case_dims, compatible_models

SIZES = (16, 24, 32, 48, 64, 96, 128, 160, 224)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
# Enhancements the literature applied before training, by modality (ACE: Adaptive Contrast
# Enhancement on breast ultrasound).
ENHANCEMENTS = {"US": "ACE-enhanced images (adaptive contrast enhancement)"}
FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
NOISES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass
class RaceRequest:
    """What the Start button queues: ``start_race(case, archs, source, variants, **choices)``.

    ``variants``: ``{arch: [extra choices, ...]}`` raced besides each plain run (e.g.
    ``{"init": "medlearn:/path.safetensors"}`` or ``{"enhance": "ace"}``).
    """

    archs: list[str]
    source: str
    choices: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)


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
    if key not in st.session_state:  # the networks of the best data's recipe (no 3D network for 2D crops)
        from ui.shared.data_choice import best_source

        st.session_state[key] = [a for a in case.recipe_for(best_source(case)).architectures if a in names]
    archs = st.multiselect("Architectures in the race", names, key=key, format_func=lambda n: model_label(case, n),
                           help="The case's default architectures come pre-selected. Each trains in its own "
                                "process on the same training/validation split.")
    url_state.publish("arch", archs)
    if len(case.task.model_dims) > 1:
        st.caption("2D models see one axial slice at a time (the central slice for a diagnosis); 3D models see "
                   "the whole volume. The classic baseline uses hand-crafted features and scikit-learn.")
    source, choices = _data_and_sizes(case, prefix, instructor)
    archs = _fit_data(case, archs, source)
    variants: dict[str, list[dict]] = {a: [] for a in archs}
    for arch, extra in (_starting_weights(case, archs, prefix, source) + _enhancement(case, archs, prefix)
                        + _clean_twin(archs, prefix, choices)):
        variants[arch].append(extra)
    return RaceRequest(archs, source, choices, variants={a: v for a, v in variants.items() if v})


def _fit_data(case: CaseStudy, archs: list[str], source: str) -> list[str]:
    """The chosen networks that can read the chosen data: a 3D network sits out a race on 2D
    images (LIDC nodule crops of a CT case), and the page says so."""
    from medlearn.train.plan import model_dims_of
    from ui.shared.data_choice import source_dims

    if source_dims(case, source) != 2 or case.task.spatial_dims != 3:
        return archs
    volumetric = [a for a in archs if a != "classic" and model_dims_of(a, case) == 3]
    if volumetric:
        st.warning(f"{', '.join(model_label(case, a) for a in volumetric)}: this data holds 2D images, not volumes, "
                   "so a 3D network cannot train on it and sits this race out. Pick a source with volumes "
                   "(e.g. phantoms) to race it.", icon=icons.WARNING)
    return [a for a in archs if a not in volumetric]


def _data_and_sizes(case: CaseStudy, prefix: str, instructor: bool) -> tuple[str, dict]:
    """The data first (the case's best source here preselected: real data when it is on the
    machine), then the sizes, which default to that source's recipe (``case.recipe_for``)."""
    from ui.shared.data_choice import best_source

    sources = [s for s in list_sources(case.key) if s.is_available()]
    titles = {s.name: s.title for s in sources}
    best = best_source(case)
    source = st.selectbox("Data", list(titles), index=list(titles).index(best) if best in titles else 0,
                          format_func=titles.get, key=f"{prefix}.source", on_change=_recipe_values, args=(prefix,),
                          help="Only sources on this machine are listed; real data comes first when it is here. "
                               "The sizes follow the data's own recipe.")
    r = case.recipe_for(source)
    epochs_col, items_col, size_col = st.columns(3)  # below the data, whose names are long
    fewer = ", ".join(f"{arch} {n}" for arch, n in r.epochs_by_arch)
    epochs = epochs_col.number_input("Epochs", 1, 50, r.epochs, key=f"{prefix}.epochs",
                                     help=(f"Left at the recipe's value, slower models train their own recipe's "
                                           f"epochs ({fewer}) to stay within its time." if fewer else None))
    choices = {
        "epochs": epochs if epochs != r.epochs else None,  # None: each model its recipe's epochs (make_plan)
        "n_train": items_col.number_input("Training images", 4, 5000, r.train_cases, step=10, key=f"{prefix}.n_train",
                                          help="Items (patients or volumes) in the training split."),
        "input_size": size_col.selectbox("Input size (px)", sorted({*SIZES, r.input_size}),
                                         index=sorted({*SIZES, r.input_size}).index(r.input_size),
                                         key=f"{prefix}.input_size", help="Images are resized to this side."),
    }
    choices.update(learning_rate=r.learning_rate, n_val=r.val_cases, seed=0)  # batch size: the recipe's per model
    if instructor:
        return source, choices
    with st.expander("Advanced: learning rate, batch size, validation, augmentation"):
        lr_col, batch_col, val_col, seed_col = st.columns(4)
        choices["learning_rate"] = lr_col.select_slider("Learning rate", sorted({*LEARNING_RATES, r.learning_rate}),
                                                        value=r.learning_rate, key=f"{prefix}.lr",
                                                        format_func=lambda v: f"{v:g}")
        batch = batch_col.number_input("Batch size", 1, 256, r.batch_size, key=f"{prefix}.batch",
                                       help="Left at the recipe's value, 2D models of a 3D case use the "
                                            "recipe's slice batch size.")
        if batch != r.batch_size:  # else make_plan picks batch_size or batch_size_2d per model
            choices["batch_size"] = batch
        choices["n_val"] = val_col.number_input("Validation images", 1, 2000, r.val_cases, key=f"{prefix}.n_val")
        choices["seed"] = seed_col.number_input("Seed", 0, 10_000, 0, key=f"{prefix}.seed",
                                                help="Same seed: same split and same starting weights.")
        levels = {"flips": "random flips (and 90° turns where orientation carries no meaning)",
                  "strong": "flips plus small rotations, zooms and contrast changes", "none": "none"}
        aug_col, bal_col = st.columns(2)
        level = aug_col.selectbox("Augmentation", list(levels), index=list(levels).index(r.augment),
                                  format_func=levels.get, key=f"{prefix}.augment",
                                  help="Random changes to each training image every epoch; validation images "
                                       "never change.")
        if level != r.augment:
            choices["augment"] = False if level == "none" else level
        if case.task.kind == "classification":
            choices["balanced"] = bal_col.checkbox(
                "Class-balanced batches", value=r.balanced, key=f"{prefix}.balanced",
                help="Each class is drawn equally often, so a rare class (a malignant lesion) is not learnt "
                     "as 'never'.")
        choices.update(overfitting_dials(case, prefix))
    return source, choices


def overfitting_dials(case: CaseStudy, prefix: str, fraction: float = 1.0, noise: float = 0.0) -> dict:
    """Two sliders: the share of the training data used and of its labels flipped (defaults:
    ``fraction`` and ``noise``). Returns the plan choices that differ from all data, true labels."""
    frac_col, noise_col = st.columns(2)
    out = {}
    value = frac_col.select_slider("Share of the training data used", FRACTIONS, value=fraction,
                                   key=f"{prefix}.train_fraction", format_func=lambda v: f"{v:.0%}",
                                   help="Whole patients are kept or left out, drawn with the seed; the validation "
                                        "images stay the same. Less data: easier to memorise.")
    if value < 1.0:
        out["train_fraction"] = value
    if case.task.is_segmentation:
        noise_col.caption("Label noise flips class labels; it does not apply to segmentation, whose labels are "
                          "masks. Use a smaller share of the data to see overfitting.")
        return out
    value = noise_col.select_slider("Label noise (training labels flipped)", NOISES, value=noise,
                                    key=f"{prefix}.label_noise", format_func=lambda v: f"{v:.0%}",
                                    help="This share of the training labels is changed to another class at random; "
                                         "validation labels stay true. A network can learn even wrong labels by "
                                         "heart: its training loss falls, its validation loss does not.")
    if value:
        out["label_noise"] = value
    return out


def _clean_twin(archs: list[str], prefix: str, choices: dict) -> list[tuple[str, dict]]:
    """With less data or noisy labels chosen, offer each network a twin on all data, true labels."""
    if not (choices.get("train_fraction") or choices.get("label_noise")):
        return []
    on = st.checkbox("Also race each network on all the training data with true labels", value=True,
                     key=f"{prefix}.clean_twin", help="The same network, split and epochs: the difference "
                                                      "between the two runs is the data alone.")
    return [(a, {"train_fraction": 1.0, "label_noise": 0.0}) for a in archs] if on else []


RECIPE_WIDGETS = ("epochs", "n_train", "input_size", "lr", "batch", "n_val", "augment", "balanced")


def _recipe_values(prefix: str) -> None:
    """Another data source: its recipe's values replace the sizes shown (the widgets restart)."""
    for name in RECIPE_WIDGETS:
        st.session_state.pop(f"{prefix}.{name}", None)


def _starting_weights(case: CaseStudy, archs: list[str], prefix: str, source: str) -> list[tuple[str, dict]]:
    """Pre-trained starting points, honestly: what exists on this machine, and why it is off.
    Returns ``(arch, {"init": ...})`` for each extra warm-started run to race."""
    extra = _sim_to_real(case, archs, prefix, source)
    if case.task.in_channels != 3 or case.task.is_segmentation:
        return extra
    return extra + _imagenet_and_other_cases(case, archs, prefix)


def _sim_to_real(case: CaseStudy, archs: list[str], prefix: str, source: str) -> list[tuple[str, dict]]:
    """Sim-to-real: each network races a second time, pre-trained on the case's phantoms first."""
    networks = [a for a in archs if a != "classic"]
    if source == "phantoms" or not networks:
        st.caption("Sim-to-real (pre-train on phantoms, then fine-tune) needs real training data: "
                   "pick a real source above." if networks else "")
        return []
    on = st.checkbox("Sim-to-real: also race each network pre-trained on this case's phantoms", value=False,
                     key=f"{prefix}.sim_to_real",
                     help="Each network first trains on the synthetic phantoms (the phantom recipe, at this input "
                          "size; a finished phantom run is reused), then every layer but the last is copied and "
                          "fine-tuned on the real data: same split, same epochs as the run from scratch. Do "
                          "phantoms teach anything that real patients confirm?")
    return [(a, {"init": "phantoms"}) for a in networks] if on else []


def _imagenet_and_other_cases(case: CaseStudy, archs: list[str], prefix: str) -> list[tuple[str, dict]]:
    """ImageNet (when cached) and another MedLearn case's runs of the same networks."""
    from medlearn.models.pretrained import cached_path

    with_imagenet = [a for a in archs if get_spec(a).imagenet]
    cached = [a for a in with_imagenet if cached_path(a)]
    if not with_imagenet:
        imagenet = "none of the chosen architectures has ImageNet weights"
    elif not cached:
        imagenet = ("no ImageNet weights are on this machine yet (MedLearn downloads them only when you ask: "
                    "see the download below)")
    else:
        imagenet = None
    others = _other_case_runs(case, archs)
    st.markdown("**Starting weights:** every network trains from scratch (random initialisation); "
                "a ticked option races it a second time from other weights.")
    left, right = st.columns(2)
    extra: list[tuple[str, dict]] = []
    if left.checkbox("Pre-trained on ImageNet", value=False, disabled=imagenet is not None,
                     key=f"{prefix}.imagenet", help=imagenet or f"Cached for {', '.join(cached)}."):
        extra += [(a, {"init": "imagenet"}) for a in cached]
    left.caption(f"Unavailable: {imagenet}." if imagenet else
                 f"Cached for {', '.join(cached)} (other networks race from scratch only).")
    _imagenet_download(left, with_imagenet, cached, prefix)
    if not others:
        right.checkbox("Pre-trained on another MedLearn dataset", value=False, disabled=True,
                       key=f"{prefix}.medlearn_init", help=NO_OTHER_RUN)
        right.caption(f"Unavailable: {NO_OTHER_RUN}.")
        return extra
    if right.checkbox("Pre-trained on another MedLearn dataset", value=False, key=f"{prefix}.medlearn_init",
                      help="Copies every layer of the same network trained on another case, except the "
                           "final layer (a different set of classes); a grey first layer is spread over RGB."):
        source = right.selectbox("Pre-trained on", sorted(others), key=f"{prefix}.init_case",
                                 format_func=lambda k: f"{_case_title(k)} ({', '.join(sorted(others[k]))})")
        runs = others[source]
        extra += [(a, {"init": f"medlearn:{runs[a]}"}) for a in archs if a in runs]
        missing = [a for a in archs if a not in runs]
        if missing:
            right.caption(f"{', '.join(missing)}: no run on {_case_title(source)}; races from scratch only.")
    return extra


def _imagenet_download(col, with_imagenet: list[str], cached: list[str], prefix: str) -> None:
    """On request only: each chosen network's ImageNet weights with size, licence and a
    download button (offline: why not). Nothing asks the network before the click."""
    key = f"{prefix}.imagenet_offer"
    if not st.session_state.get(key):
        if set(with_imagenet) <= set(cached):
            return
        col.button("ImageNet weights: size, licence, download", key=f"{key}.open", icon=icons.DOWNLOAD,
                   on_click=lambda: st.session_state.update({key: True}),
                   help="Shows what downloading torchvision's ImageNet weights involves; nothing is "
                        "downloaded until you click Download there.")
        return
    from ui.train.transfer import render_imagenet_offer

    for i, arch in enumerate(with_imagenet):  # full width, below both columns
        with st.container(border=True):
            render_imagenet_offer(arch, f"{prefix}.imagenet.{arch}", licence=i == 0)


NO_OTHER_RUN = "no chosen architecture has a finished network run on another MedLearn case yet"


def _case_title(key: str) -> str:
    from medlearn.cases import get_case

    return get_case(key).title


def _other_case_runs(case: CaseStudy, archs: list[str]) -> dict[str, dict[str, str]]:
    """``{case key: {arch: checkpoint}}``: the newest finished network run of each chosen
    architecture on every other case."""
    from pathlib import Path

    from ui.train.jobs import manager

    found: dict[str, dict[str, str]] = {}
    for run in manager().store.list_runs(status="done"):  # newest first
        ckpt = run.checkpoint
        if (run.arch in archs and run.case != case.key and ckpt and ckpt.endswith(".safetensors")
                and Path(ckpt).is_file()):
            found.setdefault(run.case, {}).setdefault(run.arch, ckpt)
    return found


def _enhancement(case: CaseStudy, archs: list[str], prefix: str) -> list[tuple[str, dict]]:
    """Raw vs enhanced training images for the same network, where the literature used it."""
    name = ENHANCEMENTS.get(case.modality)
    if name is None:
        return []
    on = st.checkbox(f"Also race each network on {name}", value=False, key=f"{prefix}.enhanced",
                     help="Each chosen network trains twice on the same split: once on raw images, once on "
                          "ACE-enhanced ones (predictions on an ACE model enhance the image the same way).")
    return [(a, {"enhance": "ace"}) for a in archs] if on else []
