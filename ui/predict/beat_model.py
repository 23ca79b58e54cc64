"""'Can you beat the model?': draw a mask (segmentation) or occlude a region (classification).

The drawing is a ``streamlit_drawable_canvas`` canvas over the displayed slice. The
logic is pure NumPy in :func:`canvas_mask`, :func:`dice`, :func:`occlude` and
:func:`probability_change` (no Streamlit), tested directly because AppTest cannot draw.
Dice comes from ``medlearn.metrics`` (MONAI); closed outlines are filled with SciPy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image
from scipy.ndimage import binary_fill_holes
from skimage.transform import resize

from medlearn.explain.overlay import colour_hex
from medlearn.cases import CaseStudy
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnError, MedlearnInputError
from medlearn.predict import Prediction
from ui.shared import icons
from ui.predict.explain_view import focus_index, slice_base, to_display
from ui.shared.text import plain

CANVAS_PX = 360


def canvas_mask(rgba: np.ndarray | None, shape: tuple[int, int], fill: bool = True) -> np.ndarray:
    """The painted pixels of a canvas ``(h, w, 4)`` RGBA as a bool mask of ``shape``.

    A pixel counts when at least half of it is painted (area-weighted resize). ``fill=True``
    also fills closed outlines, so drawing a contour marks its inside.
    """
    if rgba is None:
        return np.zeros(shape, bool)
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[-1] != 4:
        raise MedlearnInputError(f"The drawing should be an RGBA picture, got shape {rgba.shape}.")
    painted = rgba[..., 3] > 0
    if fill:  # at the canvas's own resolution, before thin outlines could vanish in the resize
        painted = binary_fill_holes(painted)
    coverage = resize(painted.astype(np.float32), shape, order=1, anti_aliasing=True)
    return coverage >= 0.5


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two binary masks of one shape (MONAI via ``medlearn.metrics``); NaN when both are empty."""
    from medlearn.metrics import segmentation_metrics

    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise MedlearnInputError(f"The drawing {a.shape} and the truth {b.shape} differ in shape.")
    return float(segmentation_metrics(a[None].astype(np.uint8), b[None].astype(np.uint8), 2, hd95=False)["dice"])


def occlude(image: MedImage, region: np.ndarray) -> MedImage:
    """The image with ``region`` (2D, in-plane) filled by the image's median; a volume is occluded in every slice."""
    region = np.asarray(region, bool)
    plane = image.spatial_shape[-2:] if image.spatial_dims == 3 else image.spatial_shape
    if region.shape != tuple(plane):
        raise MedlearnInputError(f"The painted region {region.shape} does not fit the image plane {tuple(plane)}.")
    pixels = np.array(image.pixels, copy=True)
    fill = np.median(pixels.reshape(-1, 3), axis=0) if image.is_rgb else np.median(pixels)
    if image.spatial_dims == 3:
        pixels[:, region] = fill
    else:
        pixels[region] = fill
    return image.with_pixels(pixels, source=f"{image.source} (occluded)")


def probability_change(before: dict[str, float], after: dict[str, float]) -> pd.DataFrame:
    """Per class: probability before and after the occlusion, and the change."""
    return pd.DataFrame([{"class": k, "before": before[k], "after": after[k], "change": after[k] - before[k]}
                         for k in before])


def _canvas(base: MedImage, key: str, stroke: str = colour_hex("orange"), width: int = 12):
    from streamlit_drawable_canvas import st_canvas  # imported here: medlearn never sees the canvas

    rgb = to_display(_rgb(base), base.spacing, CANVAS_PX)
    result = st_canvas(stroke_width=width, stroke_color=stroke, fill_color=stroke + "99",
                       background_image=Image.fromarray(rgb), height=rgb.shape[0], width=rgb.shape[1],
                       drawing_mode="freedraw", return_image_data=True, key=key)
    try:
        return result.image_data
    except Exception:  # no drawing sent back yet (first run, or a test without a browser)
        return None


def _rgb(base: MedImage) -> np.ndarray:
    from medlearn.explain import to_rgb_uint8

    return to_rgb_uint8(base)


def render_beat_model(case: CaseStudy, item, pred: Prediction, checkpoint: str, key: str, predictor) -> None:
    """The challenge for this case's task."""
    if case.task.is_segmentation:
        _draw_mask(case, item, pred, key)
    else:
        _occlusion(case, item, pred, checkpoint, key, predictor)


def _draw_mask(case, item, pred, key) -> None:
    if item.mask is None:
        st.info("The challenge needs an image with a known mask: pick a phantom or a labelled sample.")
        return
    from medlearn.data.sources.base import undrawn_classes

    names = case.task.class_names
    undrawn = undrawn_classes(item, len(names))
    structures = [c for c in range(1, len(names)) if c not in undrawn]  # a Dice needs a truth
    if not structures:
        st.info("The experts drew none of the structures on this image, so there is no truth to score a "
                "drawing against. Pick another sample.")
        return
    if st.session_state.get(f"{key}.label") not in structures:  # the last image's choice: undrawn here
        st.session_state.pop(f"{key}.label", None)
    label = st.selectbox("Structure to draw", structures, format_func=lambda v: names[v], key=f"{key}.label",
                         help="Only the structures the experts drew on this image: the others have no truth "
                              "to score against.")
    z = focus_index(item.mask == label, 0, 0) if item.image.spatial_dims == 3 else None
    base = slice_base(item.image, "axial", z) if z is not None else item.image
    cut = (lambda a: a) if z is None else (lambda a: a[z])
    st.markdown(f"Paint or outline the **{names[label]}** on the image (closed outlines are filled)"
                + (f", axial slice {z + 1}." if z is not None else "."))
    drawn = canvas_mask(_canvas(base, f"{key}.canvas.{item.id}.{label}"), base.spatial_shape)
    truth = cut(np.asarray(item.mask)) == label
    you, model = dice(drawn, truth), dice(cut(pred.mask) == label, truth)
    a, b = st.columns(2)
    a.metric("Your Dice", "draw first" if not drawn.any() else f"{you:.3f}")
    b.metric("Model's Dice", "—" if math.isnan(model) else f"{model:.3f}")


def _occlusion(case, item, pred, checkpoint, key, predictor) -> None:
    st.markdown("Paint over a region to hide it (filled with the image's median) and see how the model's "
                "probabilities change: regions that matter move them most.")
    z = item.image.shape[0] // 2 if item.image.spatial_dims == 3 else None
    base = slice_base(item.image, "axial", z) if z is not None else item.image
    region = canvas_mask(_canvas(base, f"{key}.canvas.{item.id}", colour_hex("blue"), 20), base.spatial_shape, fill=False)
    if not region.any():
        st.caption("Nothing painted yet." + (" (A volume is occluded through all its slices.)" if z is not None else ""))
        return
    try:
        after = predictor.predict(case.key, occlude(item.image, region), explain=None, checkpoint=checkpoint)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    table = probability_change(pred.probabilities, after.probabilities)
    st.dataframe(table.style.format({"before": "{:.1%}", "after": "{:.1%}", "change": "{:+.1%}"}), hide_index=True)
    st.markdown(f"Prediction before: **{pred.prediction}** · after occlusion: **{after.prediction}**.")
