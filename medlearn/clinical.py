"""Clinical measurements from segmentation masks, with units in every name.

* Left ventricle (short-axis stack): Simpson's method of discs,
  volume = Σ slice area × slice spacing; EF = (EDV − ESV) / EDV; stroke volume =
  EDV − ESV; myocardial mass = (epicardial − endocardial volume) × 1.05 g/ml.
* Hippocampus: volume in mm³ = voxel count × voxel volume, per label and total;
  left/right asymmetry when two masks are given.
* Lung nodule: maximal in-plane Feret diameter (Lung-RADS measures in-plane),
  equivalent-sphere diameter and volume.

Spacing always comes from the image (``MedImage.spacing``), in mm, in array axis order.
When the image carries no pixel spacing (``MedImage.spacing_known`` False: PNG, JPEG,
crops without a header), :func:`measure` counts pixels instead and says so in the names
(``_px``, ``_px2``, ``_px3``), never passing a stand-in 1 mm off as millimetres.
"""

from __future__ import annotations

import re

import numpy as np
from skimage.filters import threshold_otsu
from skimage.measure import label as connected_components
from skimage.measure import regionprops

from medlearn.errors import MedlearnInputError

MYOCARDIUM_DENSITY_G_PER_ML = 1.05


def _mask(mask: np.ndarray, spacing, ndim: tuple[int, ...] = (2, 3)) -> tuple[np.ndarray, tuple[float, ...]]:
    m = np.asarray(mask)
    if m.ndim not in ndim or m.size == 0:
        raise MedlearnInputError(f"Expected a {' or '.join(f'{d}D' for d in ndim)} mask, got shape {m.shape}.")
    sp = tuple(float(s) for s in spacing)
    if len(sp) != m.ndim or not all(s > 0 for s in sp):
        raise MedlearnInputError(f"Spacing {sp} does not fit a mask of shape {m.shape} (need {m.ndim} positive values in mm).")
    return m, sp


def area_mm2(mask: np.ndarray, spacing, label: int = 1) -> float:
    """Area of ``label`` in a 2D mask ``(H, W)``, in mm² (``spacing`` = (sy, sx) mm)."""
    m, sp = _mask(mask, spacing, (2,))
    return float(np.count_nonzero(m == label) * sp[0] * sp[1])


def volume_mm3(mask: np.ndarray, spacing, label: int | None = None) -> float:
    """Volume of ``label`` (any non-zero label when None) by Simpson's method of discs.

    Args:
        mask: integer ``(Z, Y, X)`` label map of a slice stack.
        spacing: ``(sz, sy, sx)`` in mm; ``sz`` is the slice spacing.

    Returns:
        Σ over slices of (slice area in mm²) × slice spacing, in mm³.
    """
    m, (sz, sy, sx) = _mask(mask, spacing, (3,))
    hit = m != 0 if label is None else m == label
    areas = hit.reshape(hit.shape[0], -1).sum(axis=1) * sy * sx
    return float(areas.sum() * sz)


def lv_slice_areas(mask: np.ndarray, spacing, cavity_label: int = 1, myocardium_label: int = 2) -> dict[str, float]:
    """LV cavity and myocardium areas of one short-axis slice ``(H, W)``, in mm²."""
    return {
        "lv_cavity_area_mm2": area_mm2(mask, spacing, cavity_label),
        "myocardium_area_mm2": area_mm2(mask, spacing, myocardium_label),
    }


def lv_volumes(mask: np.ndarray, spacing, cavity_label: int = 1, myocardium_label: int = 2) -> dict[str, float]:
    """Endocardial (cavity), myocardial and epicardial volumes of one phase, in ml."""
    cavity = volume_mm3(mask, spacing, cavity_label) / 1000.0
    myo = volume_mm3(mask, spacing, myocardium_label) / 1000.0
    return {"lv_cavity_volume_ml": cavity, "myocardium_volume_ml": myo, "epicardial_volume_ml": cavity + myo}


def lv_function(
    ed_mask: np.ndarray,
    es_mask: np.ndarray,
    spacing,
    cavity_label: int = 1,
    myocardium_label: int = 2,
) -> dict[str, float]:
    """EDV, ESV, stroke volume, EF and myocardial mass from end-diastolic and end-systolic stacks.

    Args:
        ed_mask, es_mask: ``(Z, Y, X)`` label maps (cavity and myocardium labels) at ED and ES.
        spacing: ``(slice spacing, sy, sx)`` in mm, shared by both phases.

    Returns:
        ``edv_ml``, ``esv_ml``, ``stroke_volume_ml``, ``ef_percent`` and
        ``myocardial_mass_g`` (at end-diastole, 1.05 g/ml).
    """
    ed = lv_volumes(ed_mask, spacing, cavity_label, myocardium_label)
    es = lv_volumes(es_mask, spacing, cavity_label, myocardium_label)
    edv, esv = ed["lv_cavity_volume_ml"], es["lv_cavity_volume_ml"]
    if edv <= 0:
        raise MedlearnInputError("The end-diastolic mask has no LV cavity, so the ejection fraction is undefined.")
    mass = (ed["epicardial_volume_ml"] - edv) * MYOCARDIUM_DENSITY_G_PER_ML
    return {
        "edv_ml": edv,
        "esv_ml": esv,
        "stroke_volume_ml": edv - esv,
        "ef_percent": 100.0 * (edv - esv) / edv,
        "myocardial_mass_g": mass,
    }


def hippocampal_volumes(mask: np.ndarray, spacing, class_names: tuple[str, ...] = ()) -> dict[str, float]:
    """Hippocampal volume per label and in total, in mm³.

    Args:
        mask: integer ``(Z, Y, X)`` label map (0 background).
        spacing: voxel size ``(sz, sy, sx)`` in mm.
        class_names: names indexed by label (background first) for the per-label keys.

    Returns:
        ``hippocampal_volume_mm3`` (all labels) and ``volume_mm3[<name>]`` per label present in names or mask.
    """
    m, sp = _mask(mask, spacing, (3,))
    labels = sorted(set(range(1, len(class_names))) | {int(v) for v in np.unique(m) if v != 0})
    out = {"hippocampal_volume_mm3": volume_mm3(m, sp)}
    for lab in labels:
        name = class_names[lab] if lab < len(class_names) else f"label {lab}"
        out[f"volume_mm3[{name}]"] = volume_mm3(m, sp, lab)
    return out


def hippocampal_asymmetry(left_mask: np.ndarray, right_mask: np.ndarray, spacing) -> dict[str, float]:
    """Left and right hippocampal volumes (mm³) and the asymmetry index 100·|L − R| / ((L + R) / 2)."""
    left, right = volume_mm3(left_mask, spacing), volume_mm3(right_mask, spacing)
    mean = (left + right) / 2
    return {
        "left_hippocampal_volume_mm3": left,
        "right_hippocampal_volume_mm3": right,
        "asymmetry_index_percent": 100.0 * abs(left - right) / mean if mean > 0 else 0.0,
    }


def nodule_size(mask: np.ndarray, spacing) -> dict[str, float]:
    """Size of the largest connected nodule in a binary mask (2D slice or 3D volume).

    Args:
        mask: ``(H, W)`` or ``(Z, Y, X)``; non-zero = nodule.
        spacing: mm per pixel in array axis order.

    Returns:
        ``nodule_diameter_mm`` (maximal in-plane Feret diameter over the slices),
        ``equivalent_diameter_mm`` (of a disc in 2D, of a sphere in 3D) and
        ``nodule_area_mm2`` (2D) or ``nodule_volume_mm3`` (3D).
    """
    m, sp = _mask(mask, spacing)
    lab = connected_components(m != 0)
    if lab.max() == 0:
        raise MedlearnInputError("The nodule mask is empty: no nodule to measure.")
    largest = np.argmax(np.bincount(lab.ravel())[1:]) + 1
    nodule = lab == largest
    slices = [nodule] if m.ndim == 2 else [s for s in nodule if s.any()]
    feret = max(regionprops(s.astype(np.uint8), spacing=sp[-2:])[0].feret_diameter_max for s in slices)
    size = float(nodule.sum() * np.prod(sp))
    if m.ndim == 2:
        return {"nodule_diameter_mm": float(feret), "equivalent_diameter_mm": float(2 * np.sqrt(size / np.pi)), "nodule_area_mm2": size}
    return {
        "nodule_diameter_mm": float(feret),
        "equivalent_diameter_mm": float(np.cbrt(6 * size / np.pi)),
        "nodule_volume_mm3": size,
    }


def otsu_nodule_mask(image: np.ndarray) -> np.ndarray:
    """A rough nodule mask of a crop: Otsu threshold, the bright component nearest the centre.

    Args:
        image: ``(H, W)`` or ``(Z, Y, X)`` crop centred on the nodule.
    """
    img = np.asarray(image, np.float32)
    if float(img.max()) <= float(img.min()):
        return np.zeros(img.shape, bool)
    lab = connected_components(img > threshold_otsu(img))
    if lab.max() == 0:
        return np.zeros(img.shape, bool)
    centre = np.array(img.shape) / 2
    nearest = min(regionprops(lab), key=lambda r: np.linalg.norm(np.array(r.centroid) - centre))
    return lab == nearest.label


NO_SPACING_NOTE = ("This file carries no pixel spacing, so sizes are in pixels (px, px², px³), "
                   "not millimetres.")

_PIXEL_UNITS = (("_mm3", "_px3", 1.0), ("_mm2", "_px2", 1.0), ("_mm", "_px", 1.0), ("_ml", "_px3", 1000.0))
"""Unit suffix in mm -> in pixels, and the factor (1 ml = 1000 mm³, so 1000 voxels of 1 "mm")."""


def _in_pixels(numbers: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    """Sizes computed with a stand-in spacing of 1 renamed into pixel units; masses dropped."""
    out: dict[str, float] = {}
    dropped = []
    for name, value in numbers.items():
        stem, part = re.fullmatch(r"([^\[]+?)(\[.*\])?", name).groups()
        for mm, px, factor in _PIXEL_UNITS:
            if stem.endswith(mm):
                out[stem[: -len(mm)] + px + (part or "")] = value * factor
                break
        else:
            if stem.endswith("_g"):  # a mass needs a volume in ml
                dropped.append(stem[:-2].replace("_", " "))
            else:
                out[name] = value
    notes = [f"No {', '.join(dropped)}: it needs volumes in millimetres."] if dropped else []
    return out, notes


def measure(measurements: tuple[str, ...], mask: np.ndarray | None, pixels: np.ndarray, spacing,
            class_names: tuple[str, ...] = (), *, spacing_known: bool = True,
            undrawn: tuple[int, ...] | list[int] = ()) -> tuple[dict[str, float], list[str]]:
    """The clinical numbers a case asks for (its ``measurements``) from one prediction.

    Args:
        measurements: the case's measurement names (``"ef_percent"``, ``"hippocampal_volume_mm3"``...).
        mask: predicted integer label map (segmentation cases) or None.
        pixels: the grey image (used for the Otsu nodule mask of a crop).
        spacing: mm per pixel in array axis order.
        class_names: the case's class names, background first.
        spacing_known: the image's ``spacing_known``. When False, ``spacing`` is ignored and
            sizes are counted in pixels: names end in ``_px``, ``_px2``, ``_px3`` instead of
            ``_mm``, ``_mm2``, ``_mm3``/``_ml`` (masses are left out), with a note saying so.
        undrawn: classes nobody drew on ``mask`` (a partial ground truth,
            :func:`medlearn.data.sources.base.undrawn_classes`): the numbers that depend on them
            are unknown, so they are left out, with a note, never reported as 0.

    Returns:
        ``(numbers, notes)``; notes explain what could not be measured from this input.
    """
    if not spacing_known:
        spacing = (1.0,) * (mask.ndim if mask is not None else np.ndim(pixels))
    out: dict[str, float] = {}
    notes: list[str] = []
    if "ef_percent" in measurements and mask is not None:
        if mask.ndim == 2:
            out.update(lv_slice_areas(mask, spacing))
            notes.append("One slice gives areas only; EDV, ESV and EF need the whole stack at end-diastole and end-systole.")
        else:
            vols = lv_volumes(mask, spacing)
            out.update(vols, myocardial_mass_g=vols["myocardium_volume_ml"] * MYOCARDIUM_DENSITY_G_PER_ML)
            notes.append("Volumes of this one phase; EF needs stacks at both end-diastole and end-systole.")
    if "hippocampal_volume_mm3" in measurements and mask is not None:
        if mask.ndim == 3:
            out.update(hippocampal_volumes(mask, spacing, class_names))
        else:
            out["hippocampal_area_mm2"] = area_mm2(mask != 0, spacing, 1)
            notes.append("A single slice gives an area; upload the volume for the hippocampal volume.")
    if "nodule_diameter_mm" in measurements:
        if max(pixels.shape) > 128:
            notes.append("Nodule size is measured on crops around the nodule (128 px or less); this image is larger.")
        else:
            nodule = (mask != 0) if mask is not None else otsu_nodule_mask(pixels)
            if nodule.any():
                out.update(nodule_size(nodule, spacing))
                notes.append("Nodule size from an Otsu threshold of the crop: a rough, automatic outline.")
    if not spacing_known and out:
        out, dropped = _in_pixels(out)
        notes += [NO_SPACING_NOTE, *dropped]
    missing = [int(c) for c in undrawn if int(c) != 0]
    if missing and mask is not None and out:
        out, notes = _known(out, notes, missing, measurements, mask, pixels, spacing, class_names,
                            spacing_known)
    return out, notes


def _known(out: dict[str, float], notes: list[str], missing: list[int], measurements, mask, pixels, spacing,
           class_names, spacing_known: bool) -> tuple[dict[str, float], list[str]]:
    """``out`` without the numbers that depend on the undrawn classes ``missing``: those that
    change when one background pixel of the mask is given such a class (an area, a volume, a
    mass, a total over the classes)."""
    spot = np.argwhere(np.asarray(mask) == 0)
    if not len(spot):
        return out, notes
    unknown: set[str] = set()
    for c in missing:
        probe = np.array(mask, copy=True)
        probe[tuple(spot[0])] = c
        changed = measure(measurements, probe, pixels, spacing, class_names, spacing_known=spacing_known)[0]
        unknown |= {k for k, v in out.items() if k in changed and changed[k] != v}
    if not unknown:
        return out, notes
    names = ", ".join(class_names[c] if c < len(class_names) else f"label {c}" for c in missing)
    kept = {k: v for k, v in out.items() if k not in unknown}
    return kept, [*notes, f"Not drawn on this image by the experts: {names}. Its numbers are unknown here, "
                          "not zero."]
