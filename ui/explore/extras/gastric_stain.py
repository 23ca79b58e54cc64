"""Gastric extra: H&E stain separation (haematoxylin / eosin) beside the tumour outline, on the
image open in the data browser above (``ui.explore.browser.shown_sample``), so both panels show one case.

Colour deconvolution is ``medlearn.enhance.separate_stains`` (scikit-image ``rgb2hed``).
The numbers show why the stains help: tumour nuclei are crowded and dark, so the
haematoxylin density is higher inside the tumour than outside.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.enhance import separate_stains
from medlearn.errors import MedlearnError
from medlearn.explain import mask_overlay
from medlearn.explain.overlay import is_photo, label_colour
from ui.shared import icons
from ui.explore.browser import shown_sample
from ui.shared.text import plain


def render(case: CaseStudy) -> None:
    """Stain separation of the colour tile open in the data browser, with its tumour region when known."""
    st.subheader(f"{icons.STAIN} Stain separation: haematoxylin and eosin")
    st.markdown("Haematoxylin stains nuclei blue-purple, eosin stains stroma and cytoplasm pink. Colour "
                "deconvolution (Ruifrok and Johnston 2001, scikit-image `rgb2hed`) splits the slide into one "
                "image per stain. Cancer shows crowded, enlarged, dark nuclei: more haematoxylin.")
    shown = shown_sample(case)
    if shown is None or not shown.image.is_rgb:
        st.info("Open a colour tile (a phantom or a sample) in the data browser above to separate its stains.",
                icon=icons.INFO)
        return
    try:
        stains = separate_stains(shown.image)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    tumour = np.asarray(shown.mask) > 0 if shown.mask is not None else None
    columns = st.columns(3)
    if tumour is not None:
        columns[0].image(mask_overlay(shown.image, tumour.astype(np.uint8), "outline"), width="stretch",
                         caption=plain(f"{shown.caption}, the true tumour outlined in "
                                       f"{label_colour(1, is_photo(shown.image))[0]}"))
    else:
        columns[0].image(shown.image.pixels, width="stretch", caption=plain(shown.caption))
    columns[1].image(stains.haematoxylin, width="stretch", caption="Haematoxylin only (nuclei)")
    columns[2].image(stains.eosin, width="stretch", caption="Eosin only (stroma, cytoplasm)")
    if tumour is None:
        st.caption("This image has no tumour outline, so there is no inside/outside to compare.")
        return
    inside, outside = stain_contrast(stains.haematoxylin_density, tumour)
    a, b = st.columns(2)
    a.metric("Haematoxylin density inside the tumour", "—" if inside is None else f"{inside:.2f}")
    b.metric("Haematoxylin density outside", "—" if outside is None else f"{outside:.2f}")
    st.caption("Mean density on a 0–1 scale (1 = the most stained pixel of this tile).")


def stain_contrast(density: np.ndarray, region: np.ndarray) -> tuple[float | None, float | None]:
    """Mean stain density inside and outside a region (None where the region or its outside is empty)."""
    region = np.asarray(region, bool)
    inside = float(density[region].mean()) if region.any() else None
    outside = float(density[~region].mean()) if (~region).any() else None
    return inside, outside
