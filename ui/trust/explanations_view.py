"""Explanations under test: is the heat map explaining this model, and does it point at what matters?

Two tests of the map Predict draws: the sanity check (:mod:`medlearn.trust.sanity`,
cascading randomisation of the weights) and faithfulness (:mod:`medlearn.trust.faithfulness`,
ROAD curves against random maps and MONAI occlusion beside the CAM). Each runs behind its
button; its result is kept in session state per image, checkpoint and method.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.errors import MedlearnError
from medlearn.explain import get_method, heatmap_overlay
from medlearn.predict import TrainedModel
from medlearn.trust.faithfulness import FaithfulnessResult, faithfulness
from medlearn.trust.sanity import FAIL_FROM, PASS_BELOW, SanityResult, sanity_check
from ui.shared import icons, projector
from ui.predict.explain_view import NO_EXPLANATION, focus_index, method_picker, slice_base, to_display
from ui.train.race_chart import PALETTE
from ui.shared.render import plane_slice
from ui.shared.text import plain
from ui.predict.upload import PredictInput, pick_input

MAP_PX = 220


def render(case: CaseStudy, model: TrainedModel, key: str) -> None:
    """Pick an image and a CAM method, then run the sanity check and the faithfulness test."""
    st.caption("A heat map looks convincing whatever it shows. Two tests tell whether it explains "
               "*this model*: destroy the model's weights and see if the map changes; hide what the map "
               "points at and see if the answer changes.")
    item = pick_input(case, key)
    if item is None:
        return
    method = method_picker(case, item.image, key)
    if method == NO_EXPLANATION:
        st.info("Choose an explanation method to put it to the test.", icon=icons.INFO)
        return
    path = Path(model.checkpoint)
    signature = (item.id, str(path), path.stat().st_mtime_ns if path.exists() else 0, method)
    title = get_method(method).title
    st.markdown(f"#### 1 · Sanity check: does the {title} map depend on the model's weights?")
    result = _run(f"{key}.sanity", signature, "Run the sanity check", "Randomising the model layer by layer…",
                  lambda: _sanity_shown(sanity_check(case, item.image, model.checkpoint, method), item))
    if result is not None:
        _show_sanity(result, item, key)
    st.markdown(f"#### 2 · Faithfulness: does hiding what the {title} map points at change the answer?")
    result = _run(f"{key}.faith", signature, "Run the faithfulness test",
                  "Removing pixels and hiding patches, many forward passes…",
                  lambda: _faithfulness_shown(faithfulness(case, item.image, model.checkpoint, method), item))
    if result is not None:
        _show_faithfulness(result, case, title, key)


def _run(key: str, signature: tuple, label: str, wait: str, compute):
    """The kept result for ``signature``, or a button that computes it (errors said plainly)."""
    kept = st.session_state.get(key)
    if kept is not None and kept[0] == signature:
        return kept[1]
    slot = st.empty()
    if not slot.button(label, key=f"{key}.run", icon=icons.NEXT):
        return None
    try:
        with st.spinner(wait):
            value = compute()
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return None
    slot.empty()  # done: the button gives way to the result
    st.session_state[key] = (signature, value)
    return value


@dataclass
class Shown:
    """A test's result ready to draw and light to keep in session state: its numbers, its maps as
    pictures at display size (the full-size maps are dropped) and the volume's slice shown (or None)."""

    result: SanityResult | FaithfulnessResult
    pictures: list[np.ndarray]
    index: int | None


def _sanity_shown(result: SanityResult, item: PredictInput) -> Shown:
    trained = result.stages[0].map
    index = focus_index(trained, 0, trained.shape[0] // 2) if trained.ndim == 3 else None
    pictures = [_picture(item, stage.map, index) for stage in result.stages]
    return Shown(replace(result, stages=[replace(s, map=None) for s in result.stages]), pictures, index)


def _faithfulness_shown(result: FaithfulnessResult, item: PredictInput) -> Shown:
    index = result.slice_index
    if item.image.spatial_dims == 3 and index is None:
        index = focus_index(result.cam, 0, result.cam.shape[0] // 2)
    pictures = [_picture(item, result.cam, index), _picture(item, result.occlusion, index)]
    return Shown(replace(result, cam=None, occlusion=None), pictures, index)


def _picture(item: PredictInput, heat: np.ndarray, index: int | None) -> np.ndarray:
    """The map over the image (a volume: over its axial slice ``index``), at display size."""
    base = item.image if index is None else slice_base(item.image, "axial", index)
    cut = heat if index is None else plane_slice(heat, "axial", index)
    return to_display(heatmap_overlay(base, cut, "viridis", 0.5), base.spacing, MAP_PX)


def _score(value: float) -> str:
    return "flat map" if value != value else f"{value:.2f}"


def _show_sanity(shown: Shown, item: PredictInput, key: str) -> None:
    result, index = shown.result, shown.index
    box = {True: st.success, None: st.warning, False: st.error}[result.passed]
    box(result.verdict, icon={True: icons.RIGHT, None: icons.WARNING, False: icons.WRONG}[result.passed])
    for column, stage, picture in zip(st.columns(len(result.stages)), result.stages, shown.pictures):
        scores = f"ρ {_score(stage.spearman)} · SSIM {_score(stage.ssim)}"
        caption = f"{stage.label.capitalize()} random · {scores}" if stage.randomised else "Trained model"
        column.image(picture, caption=caption, width="stretch")
    if index is not None:
        st.caption(f"Axial slice {index + 1} of {item.image.shape[0]}, where the trained map is strongest.")
    left, right = st.columns(2, gap="large")
    left.plotly_chart(_similarity_figure(result), width="stretch", key=f"{key}.similarity",
                      config={"displayModeBar": False})
    right.markdown(
        f"**How to read it.** From left to right, more of the {result.total_layers} weighted layers are "
        "replaced by fresh random ones, from the output down (Adebayo et al., NeurIPS 2018). "
        "**ρ** (Spearman rank correlation) and **SSIM** (structural similarity) compare each map with the "
        "trained one: 1 = identical, 0 = unrelated. A map that explains the model should fall towards 0 as "
        f"the weights go; one that stays high (ρ above {FAIL_FROM}) shows the image's edges and bright "
        "regions, whatever the model learned. A *flat map* is empty: the random model points nowhere.")


def _similarity_figure(result: SanityResult) -> go.Figure:
    """Similarity to the trained map at each randomisation stage (higher = unchanged)."""
    labels = [s.label for s in result.stages]
    fig = go.Figure()
    for (name, values), colour, symbol in zip(
            (("Spearman ρ", [s.spearman for s in result.stages]), ("SSIM", [s.ssim for s in result.stages])),
            PALETTE, ("circle", "square")):
        fig.add_trace(go.Scatter(x=labels, y=values, name=name, mode="lines+markers",
                                 line=dict(color=colour, width=3), marker=dict(symbol=symbol, size=9)))
    fig.add_hrect(y0=-1, y1=PASS_BELOW, fillcolor=PALETTE[2], opacity=0.12, line_width=0,
                  annotation_text="changed: the map depends on the weights",
                  annotation_position="bottom left")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12),
                      xaxis_title="layers randomised (from the output down)",
                      yaxis=dict(title="similarity to the trained map", range=[-0.5, 1.05]))
    return projector.style_chart(fig)


def _show_faithfulness(shown: Shown, case: CaseStudy, title: str, key: str) -> None:
    result, index = shown.result, shown.index
    names = case.task.class_names
    target = names[result.target] if result.target < len(names) else f"class {result.target}"
    ours, rand = result.road[title], result.road["random map"]
    a, b, c = st.columns(3)
    a.metric(f"ROAD score, {title}", f"{ours:+.3f}", f"{ours - rand:+.3f} vs random maps",
             help="(mean change when removing the least relevant first − mean change when removing the most "
                  "relevant first) / 2: higher = the map found what the model uses.")
    b.metric("ROAD score, random maps", f"{rand:+.3f}",
             help="The same test with blobby random maps: the bar to beat.")
    c.metric("Occlusion vs map (ρ)", _score(result.agreement),
             help="Rank correlation between the occlusion map and the CAM: do two different methods agree?")
    before = (f"the model's mean probability of {target} over the region it segmented is "
              f"{result.probability:.0%}" if case.task.is_segmentation
              else f"the model gives {target} {result.probability:.0%}")
    st.caption(f"Before anything is removed {plain(before)}. Removed pixels are filled by {result.fill}.")
    left, right = st.columns(2, gap="large")
    left.plotly_chart(_road_figure(result), width="stretch", key=f"{key}.road",
                      config={"displayModeBar": False})
    right.markdown(
        "**How to read it.** Solid lines remove the pixels the map calls *most* relevant first (MoRF): "
        "a faithful map makes the probability fall fast. Dashed lines remove the *least* relevant first "
        "(LeRF): the probability should hold. Removed pixels are filled in from their neighbours (ROAD, "
        "Rong et al. 2022), so the hole's shape gives nothing away. The map must beat the random maps; "
        "occlusion needs no gradients, so where it agrees with the heat map, both are more believable.")
    where = "" if index is None else f" (axial slice {index + 1})"
    one, two, _ = st.columns(3)
    one.image(shown.pictures[0], caption=f"{title}: where the model looked{where}", width="stretch")
    two.image(shown.pictures[1], width="stretch",
              caption=f"Occlusion (MONAI): where hiding a patch lowered the probability most{where}")


def _road_figure(result: FaithfulnessResult) -> go.Figure:
    """Change in the class's probability as more pixels are removed, map vs random maps."""
    fig = go.Figure()
    colours = dict(zip(dict.fromkeys(c.map_name for c in result.curves), PALETTE))
    for curve in result.curves:
        fig.add_trace(go.Scatter(
            x=[0, *[100 * f for f in curve.removed]], y=[0.0, *curve.change], mode="lines+markers",
            name=f"{curve.map_name}, {'most' if curve.order == 'MoRF' else 'least'} relevant first",
            line=dict(color=colours[curve.map_name], width=3,
                      dash="solid" if curve.order == "MoRF" else "dash")))
    fig.add_hline(y=0, line_color="#999999", line_width=1)
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.25),
                      xaxis=dict(title="pixels removed (%)", range=[0, 95]),
                      yaxis=dict(title="change in probability", tickformat="+.0%"))
    return projector.style_chart(fig)
