"""Hand-crafted radiomics-style features for the classical baseline.

Everything here is a call into scikit-image/scipy (regionprops, graycomatrix,
local_binary_pattern, threshold_otsu, moments); this file only decides which
features to take and names them. Groups:

* intensity: statistics inside the lesion and over the whole image, and their contrast;
* shape: from the lesion mask, or the largest Otsu component when no mask is given;
* texture: grey-level co-occurrence (GLCM) properties and a uniform-LBP histogram;
* colour: per-channel mean/std inside the lesion (3-channel pictures only).

Volumes ``(Z, Y, X)`` get 3D intensity and shape features plus texture on the three
central orthogonal slices.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from skimage.feature import graycomatrix, graycoprops, local_binary_pattern
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops

GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")
GLCM_DISTANCES = (1, 2)
LBP_POINTS = 8


def image_features(grey: np.ndarray, region: np.ndarray, levels: int = 32) -> dict[str, float]:
    """All grey-level features of a 2D ``(H, W)`` or 3D ``(Z, Y, X)`` image and its boolean region."""
    feats = intensity_features(grey, region)
    feats.update(shape_features(region))
    if grey.ndim == 2:
        feats.update(texture_features(grey, levels))
    else:
        for axis, name in enumerate(("axial", "coronal", "sagittal")):
            centre = np.take(grey, grey.shape[axis] // 2, axis=axis)
            feats.update({f"{name}_{k}": v for k, v in texture_features(centre, levels).items()})
    return feats


def intensity_features(grey: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """Statistics inside the region, over the image, and the region/background contrast."""
    inside = grey[region] if region.any() else grey.ravel()
    outside = grey[~region] if (~region).any() else grey.ravel()
    feats = {f"lesion_{k}": v for k, v in _stats(inside).items()}
    feats.update({f"image_{k}": v for k, v in _stats(grey.ravel()).items()})
    feats["lesion_contrast"] = float(inside.mean() - outside.mean()) / (float(grey.std()) + 1e-6)
    return feats


def shape_features(region: np.ndarray) -> dict[str, float]:
    """Size and shape of the region (largest component), size as a fraction of the image."""
    props = regionprops(region.astype(np.uint8))
    feats = dict.fromkeys(_shape_names(region.ndim), 0.0)
    if not props:
        return feats
    p = props[0]
    feats.update(area_fraction=p.area / region.size, extent=float(p.extent), solidity=_solidity(p),
                 elongation=float(p.axis_minor_length / (p.axis_major_length + 1e-6)))
    if region.ndim == 2:
        feats.update(eccentricity=float(p.eccentricity),
                     compactness=float(4 * np.pi * p.area / (p.perimeter**2 + 1e-6)),
                     taller_than_wide=float((p.bbox[2] - p.bbox[0]) / (p.bbox[3] - p.bbox[1])))
    return feats


def texture_features(grey: np.ndarray, levels: int = 32) -> dict[str, float]:
    """GLCM properties (mean over 4 angles, per distance) and a uniform-LBP histogram of ``(H, W)``."""
    q = quantise(grey, levels)
    glcm = graycomatrix(q, distances=GLCM_DISTANCES, angles=(0, np.pi / 4, np.pi / 2, 3 * np.pi / 4),
                        levels=levels, symmetric=True, normed=True)
    feats = {}
    for prop in GLCM_PROPS:
        values = np.nan_to_num(graycoprops(glcm, prop).mean(axis=1))
        feats.update({f"glcm_{prop}_d{d}": float(v) for d, v in zip(GLCM_DISTANCES, values)})
    lbp = local_binary_pattern(q, LBP_POINTS, 1, method="uniform")
    hist = np.bincount(lbp.astype(int).ravel(), minlength=LBP_POINTS + 2) / lbp.size
    feats.update({f"lbp_{i}": float(h) for i, h in enumerate(hist)})
    return feats


def colour_features(rgb: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """Mean and standard deviation of each colour channel inside the region of ``(H, W, 3)``."""
    pixels = rgb[region] if region.any() else rgb.reshape(-1, rgb.shape[-1])
    feats = {}
    for c, name in enumerate("rgb"):
        feats[f"colour_{name}_mean"] = float(pixels[:, c].mean())
        feats[f"colour_{name}_std"] = float(pixels[:, c].std())
    return feats


def lesion_region(grey: np.ndarray, mask: np.ndarray | None, polarity: str = "bright") -> np.ndarray:
    """Boolean lesion region: the mask if it has any pixel, else the Otsu component nearest
    the image centre (lesion-centred crops, as LIDC nodules and the phantoms are, put the
    lesion there; the largest component would often be the chest wall or a fat layer).

    ``polarity="dark"`` takes pixels below the Otsu threshold (hypoechoic lesions in ultrasound).
    """
    if mask is not None and np.any(mask):
        return np.asarray(mask) > 0
    if grey.min() == grey.max():
        return np.ones(grey.shape, bool)
    t = threshold_otsu(grey)
    fg = grey < t if polarity == "dark" else grey > t
    labels = label(fg)
    if labels.max() == 0:
        return np.ones(grey.shape, bool)
    # Distance from the centre to each pixel; each component's nearest pixel decides.
    centre = np.indices(grey.shape, dtype=np.float32) - ((np.array(grey.shape, np.float32) - 1) / 2).reshape(
        (-1,) + (1,) * grey.ndim)
    dist = np.sqrt((centre ** 2).sum(0)).ravel()
    flat = labels.ravel()
    nearest = np.full(labels.max() + 1, np.inf)
    np.minimum.at(nearest, flat[flat > 0], dist[flat > 0])
    return labels == int(np.argmin(nearest))


def quantise(grey: np.ndarray, levels: int) -> np.ndarray:
    """Grey levels mapped to ``0..levels-1`` between the 1st and 99th percentile (uint8)."""
    lo, hi = np.percentile(grey, (1, 99))
    scaled = (grey - lo) / (hi - lo) if hi > lo else np.zeros_like(grey, dtype=float)
    return np.clip(np.round(scaled * (levels - 1)), 0, levels - 1).astype(np.uint8)


def _stats(values: np.ndarray) -> dict[str, float]:
    values = values.astype(np.float64)
    p10, p50, p90 = np.percentile(values, (10, 50, 90))
    flat = values.std() < 1e-12
    return {"mean": float(values.mean()), "std": float(values.std()), "p10": float(p10),
            "median": float(p50), "p90": float(p90),
            "skewness": 0.0 if flat else float(stats.skew(values)),
            "kurtosis": 0.0 if flat else float(stats.kurtosis(values))}


def _solidity(props) -> float:
    """Area over convex-hull area; 1 where the hull is undefined (a flat or tiny region: Qhull
    raises, or scikit-image warns and returns an empty hull, which divided to infinity)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(props.solidity)
    except Exception:
        return 1.0
    return value if np.isfinite(value) and 0 < value <= 1 else 1.0


def _shape_names(ndim: int) -> list[str]:
    names = ["area_fraction", "extent", "solidity", "elongation"]
    return names + (["eccentricity", "compactness", "taller_than_wide"] if ndim == 2 else [])
