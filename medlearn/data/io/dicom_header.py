"""What MedLearn takes from a DICOM header: geometry, windows and a safe meta whitelist.

Privacy: patient identifiers (PatientName, PatientID, PatientBirthDate, addresses,
accession numbers, UIDs, dates...) never leave the reader. Rather than scrubbing a
dataset (``Dataset.walk``/``remove_private_tags`` would still leave free-text fields),
the reader copies out only the technical fields in :data:`SAFE_TAGS`, and the
pydicom dataset itself is dropped once the pixels are decoded. ``dcmread`` is also asked
for :data:`READ_TAGS` only, so identifying elements never even enter the dataset.
"""

from __future__ import annotations

import math

import numpy as np
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.uid import UID

from medlearn.data.image import Window

SAFE_TAGS = (
    "Modality", "Manufacturer", "ManufacturerModelName", "SeriesDescription", "BodyPartExamined",
    "ImageType", "SliceThickness", "SpacingBetweenSlices", "RepetitionTime", "EchoTime",
    "InversionTime", "FlipAngle", "MagneticFieldStrength", "TriggerTime", "NumberOfFrames",
    "PhotometricInterpretation", "BitsStored", "RescaleSlope", "RescaleIntercept", "RescaleType", "KVP", "ConvolutionKernel",
)
"""Technical header fields that may be shown (none of them identifies a patient)."""

_USED = (
    "SOPClassUID", "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames",
    "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PixelData",
    "FloatPixelData", "DoubleFloatPixelData", "ExtendedOffsetTable", "ExtendedOffsetTableLengths",
    "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "RescaleSlope", "RescaleIntercept",
    "ModalityLUTSequence", "PixelSpacing", "ImagerPixelSpacing", "ImagePositionPatient",
    "ImageOrientationPatient", "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence",
    "SeriesInstanceUID", "InstanceNumber", "TriggerTime",
)
READ_TAGS = sorted({Tag(keyword) for keyword in SAFE_TAGS + _USED})
"""Every top-level element the readers look at (the pixel decoder's image pixel module,
geometry, windows, rescale, series sorting, :data:`SAFE_TAGS`); ``dcmread`` skips the rest."""

_SAFE_TAGS = tuple((keyword, Tag(keyword)) for keyword in SAFE_TAGS)  # keyword -> tag, looked up once
_SOP_CLASS = Tag("SOPClassUID")
_LPS_LABELS = (("R", "L"), ("A", "P"), ("I", "S"))  # DICOM patient axes: +x left, +y posterior


_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "SH", "ST", "TM", "UC", "UT"}


def _plain(value):
    if isinstance(value, (MultiValue, list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() and isinstance(value, int) else float(value)
    return str(value)


def _raw_text(elem, vr: str):
    """Decode a text element's raw bytes directly (pydicom's full value conversion costs
    about as much as reading a small file; these VRs are plain backslash-separated ASCII)."""
    parts = [p.strip(" \x00") for p in elem.value.decode("ascii", "replace").split("\\")]
    if vr in ("DS", "IS"):
        try:
            parts = [int(p) if vr == "IS" else float(p) for p in parts if p]
        except ValueError:
            return None
    parts = [p for p in parts if p != ""]
    return None if not parts else parts[0] if len(parts) == 1 else parts


_NUMBER_VRS = {"DS": float, "IS": int}


def number(ds: Dataset, tag: int):
    """The value of a DS or IS element (a number, or a list when multi-valued), ``None`` if absent.

    A well-formed value is read straight from the raw bytes (pydicom's DSfloat / IS
    conversion costs more than the rest of the header work); anything unusual (empty,
    padded with NULs, not a number, another VR) goes through pydicom, so it ends exactly
    as pydicom makes it.
    """
    elem = ds.get_item(tag)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes) and elem.value:
        kind = _NUMBER_VRS.get(elem.VR or dictionary_VR(tag))
        try:
            parts = [kind(p) for p in elem.value.decode("ascii").split("\\")] if kind else None
        except (ValueError, UnicodeDecodeError):
            parts = None
        if parts:
            return parts[0] if len(parts) == 1 else parts
    return ds[tag].value


def safe_meta(ds: Dataset) -> dict:
    """The :data:`SAFE_TAGS` present in ``ds``, as JSON-ready values, plus the
    transfer syntax and SOP class names."""
    meta = {}
    for key, tag in _SAFE_TAGS:
        elem = ds.get_item(tag)
        if elem is None:
            continue
        vr = getattr(elem, "VR", None)
        if isinstance(elem, RawDataElement) and vr in _TEXT_VRS and isinstance(elem.value, bytes):
            value = _raw_text(elem, vr)
        else:
            value = _plain(ds[tag].value)
        if value not in (None, "", []):
            meta[key] = value
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if ts:
        meta["TransferSyntax"] = ts.name
    sop = ds.get_item(_SOP_CLASS)
    if sop is not None and sop.value:
        raw = sop.value.decode("ascii", "replace") if isinstance(sop.value, bytes) else str(sop.value)
        meta["SOPClass"] = UID(raw.strip(" \x00")).name
    return meta


_GROUPS = (Tag("SharedFunctionalGroupsSequence"), Tag("PerFrameFunctionalGroupsSequence"))
_MEASURES = ("PixelMeasuresSequence", "PlaneOrientationSequence", "PixelValueTransformationSequence")
_TAG = {k: Tag(k) for k in (
    "PixelSpacing", "ImagerPixelSpacing", "SpacingBetweenSlices", "SliceThickness", "ImageOrientationPatient",
    "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth",
)}


def _first_measure(ds: Dataset, keyword: str):
    """A DS keyword from the top level, else from an enhanced file's shared functional groups."""
    tag = _TAG[keyword]
    if ds.get_item(tag) is not None:
        return number(ds, tag)
    for group in _GROUPS:
        if ds.get_item(group) is None:
            continue
        for item in ds[group].value[:1]:
            for seq in _MEASURES:
                for sub in item.get(seq, [])[:1]:
                    if tag in sub:
                        return number(sub, tag)
    return None


def _two_numbers(value) -> tuple[float, float] | None:
    try:
        return float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        return None


def pixel_spacing_stated(ds: Dataset) -> tuple[float, float] | None:
    """PixelSpacing (else ImagerPixelSpacing) as written, valid or not; ``None`` when absent."""
    value = _first_measure(ds, "PixelSpacing")
    if value in (None, "", []):
        value = number(ds, _TAG["ImagerPixelSpacing"])
    return None if value in (None, "", []) else _two_numbers(value)


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """``(row spacing, column spacing)`` in mm = ``(sy, sx)``, or ``None`` when absent or
    not two positive finite numbers."""
    value = pixel_spacing_stated(ds)
    if value is None or not all(np.isfinite(v) and v > 0 for v in value):
        return None
    return value


def slice_spacing_from_header(ds: Dataset) -> float | None:
    """SpacingBetweenSlices, else SliceThickness (mm), else ``None``."""
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        value = _first_measure(ds, key)
        try:
            value = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):  # multi-valued or not a number
            value = None
        if value is not None and np.isfinite(value) and value > 0:
            return value
    return None


def orientation_cosines(ds: Dataset) -> np.ndarray | None:
    """``(3, 3)`` rows: direction of increasing column (X), row (Y), slice normal (Z)."""
    iop = _first_measure(ds, "ImageOrientationPatient")
    if not iop or len(iop) != 6:
        return None
    row, col = np.asarray(iop[:3], float), np.asarray(iop[3:], float)
    normal = np.cross(row, col)
    return None if np.linalg.norm(normal) < 1e-6 else np.stack([row, col, normal])


_POSITION = Tag("ImagePositionPatient")


def _point(value) -> np.ndarray | None:
    if value is None:
        return None
    try:
        p = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return p if p.shape == (3,) and np.isfinite(p).all() else None


def image_position(ds: Dataset) -> np.ndarray | None:
    """ImagePositionPatient (LPS, mm) of a slice or of a multi-frame file's first frame."""
    positions = frame_positions(ds)
    if positions:
        return positions[0]
    return _point(number(ds, _POSITION)) if ds.get_item(_POSITION) is not None else None


def frame_positions(ds: Dataset) -> list[np.ndarray] | None:
    """Each frame's ImagePositionPatient from an enhanced file's per-frame functional groups
    (``None`` unless every frame has one)."""
    group = Tag("PerFrameFunctionalGroupsSequence")
    if ds.get_item(group) is None:
        return None
    out = []
    for item in ds[group].value:
        plane = item.get("PlanePositionSequence")
        point = _point(plane[0].get("ImagePositionPatient")) if plane else None
        if point is None:
            return None
        out.append(point)
    return out or None


LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""DICOM's patient axes (+x left, +y posterior) to NIfTI's world (+x right, +y anterior)."""


def volume_affine(cosines: np.ndarray, first: np.ndarray, pixel: tuple[float, float],
                  step: np.ndarray) -> np.ndarray:
    """Voxel ``(z, y, x)`` -> RAS mm of a stack of slices (``MedImage.affine``).

    Args:
        cosines: from :func:`orientation_cosines`: direction of increasing column (X),
            of increasing row (Y), and the normal.
        first: ImagePositionPatient of slice 0 (LPS): the centre of its first pixel.
        pixel: ``(row spacing, column spacing)`` = ``(sy, sx)`` mm.
        step: LPS displacement (mm) from one slice to the next.
    """
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = step, cosines[1] * pixel[0], cosines[0] * pixel[1], first
    return LPS_TO_RAS @ lps


def plane_affine(cosines: np.ndarray, first: np.ndarray, pixel: tuple[float, float],
                 thickness: float) -> np.ndarray:
    """Pixel ``(y, x)`` -> RAS mm of one slice; the third column is the normal times
    ``thickness`` (see ``MedImage``)."""
    return volume_affine(cosines, first, pixel, cosines[2] * thickness)[:, [1, 2, 0, 3]]


def axis_codes(cosines: np.ndarray) -> str:
    """Patient-axis letters (L/R, P/A, S/I) for the X, Y, Z voxel axes, e.g. ``"LPS"``.

    Each axis gets the patient axis its direction cosine is closest to. (Own three lines:
    ``nib.aff2axcodes`` solves an SVD, which costs more than reading a small slice.)
    """
    axes = np.argmax(np.abs(cosines), axis=1)
    return "".join(_LPS_LABELS[a][int(cosines[i, a] > 0)] for i, a in enumerate(axes))


def windows(ds: Dataset) -> tuple[Window, ...]:
    """Window presets from WindowCenter / WindowWidth (each possibly multi-valued)."""
    centers, widths = number(ds, _TAG["WindowCenter"]), number(ds, _TAG["WindowWidth"])
    if centers is None or widths is None:
        return ()
    as_list = lambda v: [] if v is None else list(v) if isinstance(v, (MultiValue, list)) else [v]  # noqa: E731
    names = as_list(ds.get("WindowCenterWidthExplanation"))
    out = []
    for i, (c, w) in enumerate(zip(as_list(centers), as_list(widths))):
        if w not in (None, "") and float(w) > 0:
            out.append(Window(float(c), float(w), str(names[i]) if i < len(names) else f"header {i + 1}"))
    return tuple(out)


def rescale(ds: Dataset) -> tuple[float, float]:
    """``(slope, intercept)`` of the modality LUT (``(1, 0)`` when absent). A slope of zero or a
    non-number (which would make every pixel the same value) is taken as 1, a non-number
    intercept as 0; :func:`rescale_notes` says so."""
    slope, intercept = _stated_rescale(ds)
    return (slope if slope is not None and math.isfinite(slope) and slope != 0 else 1.0,
            intercept if intercept is not None and math.isfinite(intercept) else 0.0)


def _stated_rescale(ds: Dataset) -> tuple[float | None, float | None]:
    slope, intercept = _first_measure(ds, "RescaleSlope"), _first_measure(ds, "RescaleIntercept")
    return (float(slope) if slope not in (None, "") else None,
            float(intercept) if intercept not in (None, "") else None)


def rescale_notes(ds: Dataset) -> list[str]:
    """Notes for a modality LUT that :func:`rescale` had to correct."""
    slope, intercept = _stated_rescale(ds)
    notes = []
    if slope is not None and (not math.isfinite(slope) or slope == 0):
        notes.append(f"The DICOM header's RescaleSlope is {slope:g}, which would make every pixel the same "
                     "value: the stored values were used unscaled (slope 1).")
    if intercept is not None and not math.isfinite(intercept):
        notes.append("The DICOM header's RescaleIntercept is not a number: 0 was used.")
    return notes
