"""DICOM through pydicom: one file, a multi-frame file, or a series (several files or a zip).

Series geometry: slices are sorted by ImagePositionPatient projected on the slice
normal (row x column direction cosines), falling back to InstanceNumber. Files that
share a position are phases of a cine (e.g. end-diastole and end-systole);
``volume_index`` picks the phase. Orientation: ``MedImage.orientation`` names, in
DICOM patient axes (L/R, P/A, S/I), where the X (column), Y (row) and Z (slice) indices
increase, so a standard axial CT reads ``"LPS"``, written in the same (X, Y, Z) order as
NIfTI's ``"RAS"``. Single slices are ``"2D"``; multi-frame files keep file order, ``"ZYX"``.
Pixel values go through the modality LUT (RescaleSlope/Intercept: Hounsfield units for CT).

Geometry: ``MedImage.affine`` (voxel ``(z, y, x)`` -> RAS mm; a slice's ``(y, x)``) is built
from ImageOrientationPatient, the first slice's ImagePositionPatient, PixelSpacing and the
step between slice positions, converted from DICOM's LPS to RAS; None without orientation
or position. A missing PixelSpacing, or one that is zero, negative or not a number, leaves
the spacing unknown (1 mm, ``spacing_known`` False) with a note in ``meta["notes"]``; so
does a stack whose slice spacing neither the positions nor the header give.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, get_decoder, pixel_array
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from medlearn.data.image import RGB_MODALITIES, MedImage, Window
from medlearn.data.io import dicom_header as hdr
from medlearn.data.io.arrays import auto_window, new_image, rgb_to_uint8
from medlearn.data.io.detect import HEAD_BYTES, sniff
from medlearn.data.io.library_notes import one_line
from medlearn.data.io.limits import check_shape, pick_index
from medlearn.data.io.series import arrange
from medlearn.data.io.source import Blob
from medlearn.errors import MedlearnInputError


_MODALITY_LUT = Tag("ModalityLUTSequence")

IN_MEMORY_BYTES = 64 * 1024 * 1024
"""Files up to this size are parsed from memory: pydicom reads element by element, and
from an in-memory buffer that costs about a quarter less than from a file object."""


def _stream(blob: Blob):
    """What ``dcmread`` reads: the bytes in memory when small enough, else the path."""
    if blob.raw is not None:
        return io.BytesIO(blob.raw)
    if blob.size <= IN_MEMORY_BYTES:
        return io.BytesIO(blob.path.read_bytes())  # not kept on the blob: a series holds many
    return blob.path


def parse(blob: Blob) -> Dataset:
    """Read a DICOM file (header and pixel bytes, not decoded) and check it holds an image.

    Only the elements in :data:`~medlearn.data.io.dicom_header.READ_TAGS` are kept (pydicom
    skips the others' values: about half the parsing time), so identifying fields never
    enter the dataset.
    """
    try:
        ds = pydicom.dcmread(_stream(blob), force=True, specific_tags=hdr.READ_TAGS)
    except Exception as exc:  # pydicom raises many types for broken files
        raise MedlearnInputError(f"{blob.name}: the DICOM file is damaged or truncated ({one_line(exc)}).") from exc
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        kind = ds.SOPClassUID.name if ds.get("SOPClassUID") else "a DICOM object"
        raise MedlearnInputError(
            f"{blob.name}: this DICOM file holds no image ({kind}, e.g. a report or a directory)."
        )
    if "TransferSyntaxUID" not in ds.file_meta:
        implicit = ds.original_encoding[0] if ds.original_encoding[0] is not None else True
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    return ds


def _needs(decoder) -> str:
    """What would decode a transfer syntax, from pydicom's own list of its plugins' needs
    (``"gdcm - requires gdcm>=3.0.10"`` -> ``"gdcm>=3.0.10"``)."""
    if decoder is None:
        return "no decoder for it is known to pydicom"
    needs = [need.split(" - requires ", 1)[-1] for need in decoder.missing_dependencies]
    if len(needs) < 2:
        return "needs " + (needs[0] if needs else "a pixel data plugin for pydicom")
    return "needs one of: " + "; ".join(needs)


def _decode(ds: Dataset, name: str) -> np.ndarray:
    """The stored pixel values; a refusal names the transfer syntax (name and UID) and says
    whether no decoder is installed for it or the data itself would not decode."""
    ts = ds.file_meta.TransferSyntaxUID
    if ts.is_compressed:
        try:
            decoder = get_decoder(ts)
        except NotImplementedError:
            decoder = None
        if decoder is None or not decoder.is_available:
            raise MedlearnInputError(
                f"{name}: the pixels are compressed as {ts.name} ({ts}): no decoder installed here "
                f"({_needs(decoder)}). Export the images uncompressed, or install one of those packages."
            )
    try:
        return pixel_array(ds)  # the function behind ``ds.pixel_array``, without its caching
    except Exception as exc:  # truncated pixel data, bad lengths, codec failures
        if ts.is_compressed:
            raise MedlearnInputError(
                f"{name}: the pixels are compressed as {ts.name} ({ts}) and the installed decoder cannot "
                f"decode them: the compressed data is damaged or truncated ({one_line(exc)})."
            ) from exc
        raise MedlearnInputError(
            f"{name}: the DICOM pixel data is damaged or incomplete ({one_line(exc)})."
        ) from exc


def to_units(arr: np.ndarray, ds: Dataset, rescale: tuple[float, float] | None = None) -> np.ndarray:
    """Apply the modality LUT: ``slope * stored + intercept`` as float32 (unchanged if trivial).

    Args:
        arr: stored pixel values.
        ds: the dataset they came from.
        rescale: ``(slope, intercept)`` when already read from ``ds``.
    """
    if ds.get_item(_MODALITY_LUT) is not None:
        return apply_modality_lut(arr, ds).astype(np.float32)
    slope, intercept = rescale or hdr.rescale(ds)
    if slope == 1.0 and intercept == 0.0:
        return arr
    out = arr.astype(np.float32)
    if slope != 1.0:
        out *= np.float32(slope)
    out += np.float32(intercept)
    return out


def _monochrome1(ds: Dataset, notes: list[str]) -> bool:
    """Whether the file stores white as the lowest value (MONOCHROME1); says so in ``notes``."""
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() != "MONOCHROME1":
        return False
    notes.append("The file is MONOCHROME1 (low values are white): it was inverted, so it is shown and "
                 "predicted as MONOCHROME2 (low values are dark).")
    return True


def invert(arr: np.ndarray) -> np.ndarray:
    """Values mirrored within their own range (``min + max - value``), same dtype."""
    lo, hi = arr.min(), arr.max()
    if arr.dtype.kind in "ui":
        return (np.int64(lo) + np.int64(hi) - arr.astype(np.int64)).astype(arr.dtype)
    return (lo + hi - arr).astype(arr.dtype)


def _units_and_window(raw: np.ndarray, ds: Dataset, has_windows: bool) -> tuple[np.ndarray, Window | None]:
    """Pixels in modality units, and (when the header has no window) an automatic window
    computed on the stored integers (a fast histogram) and mapped through the rescale."""
    slope, intercept = hdr.rescale(ds)
    arr = to_units(raw, ds, (slope, intercept))
    if has_windows or raw.dtype.kind == "f" or ds.get_item(_MODALITY_LUT) is not None:
        return arr, None
    w = auto_window(raw)
    return arr, Window(w.center * slope + intercept, w.width * abs(slope), w.name)


_FRAMES = Tag("NumberOfFrames")


def _shape(ds: Dataset) -> tuple[int, int, int, int]:
    """``(frames, rows, columns, samples per pixel)`` from the header."""
    frames, samples = hdr.number(ds, _FRAMES), ds.get("SamplesPerPixel")
    return int(frames or 1), int(ds.Rows), int(ds.Columns), int(samples or 1)


def _pixel_spacing(ds: Dataset, notes: list[str]) -> tuple[float, float] | None:
    """PixelSpacing ``(sy, sx)``, or None with a note saying why sizes will be in pixels."""
    sp = hdr.pixel_spacing(ds)
    if sp is None:
        stated = hdr.pixel_spacing_stated(ds)
        notes.append(
            "The DICOM header has no pixel spacing: sizes are in pixels (1 mm assumed)." if stated is None
            else f"The DICOM header's pixel spacing {list(stated)} is zero, negative or not a number: "
                 "the spacing is unknown, 1 mm is used and sizes are in pixels.")
    return sp


def _affine(ds: Dataset, pixel: tuple[float, float] | None, positions: list | None, sz: float | None,
            n_slices: int | None) -> np.ndarray | None:
    """``MedImage.affine`` from the header (see module doc); None without orientation or position.

    Args:
        ds: the first slice (or the multi-frame file).
        pixel: ``(sy, sx)`` in mm, None when unknown (1 mm used, as for the spacing).
        positions: LPS ImagePositionPatient of every slice in array order, when known.
        sz: slice spacing along the normal (used when positions are not all known).
        n_slices: None for a single 2D slice.
    """
    cos = hdr.orientation_cosines(ds)
    first = positions[0] if positions else hdr.image_position(ds)
    if cos is None or first is None or not np.isfinite(cos).all():
        return None
    pixel = pixel or (1.0, 1.0)
    if n_slices is None:
        return hdr.plane_affine(cos, first, pixel, sz or 1.0)
    if positions is not None and len(positions) == n_slices > 1:
        step = (positions[-1] - positions[0]) / (n_slices - 1)  # follows a gantry tilt, too
        if np.dot(step, cos[2]) <= 0:  # positions that do not advance along the normal
            step = cos[2] * (sz or 1.0)
    else:
        step = cos[2] * (sz or 1.0)
    return hdr.volume_affine(cos, first, pixel, step)


def _image(pixels, ds: Dataset, spacing, orientation: str, source: str, meta: dict,
           auto: Window | None = None, win: tuple[Window, ...] | None = None, *,
           affine: np.ndarray | None = None, known: bool = True, notes: list[str] = ()) -> MedImage:
    modality = str(ds.get("Modality") or "OT")
    rgb = pixels.ndim == 3 and pixels.shape[-1] == 3 and pixels.dtype == np.uint8 and orientation == "2D"
    if rgb and modality not in RGB_MODALITIES:
        modality = "OT"
    if spacing is None:
        spacing, meta["spacing_unit"], known = (1.0,) * (2 if orientation == "2D" else 3), "pixel", False
    if notes:
        meta["notes"] = list(meta.get("notes", [])) + list(notes)
    win = () if rgb else hdr.windows(ds) if win is None else win
    return new_image(pixels, spacing=spacing, spacing_known=known, affine=affine, modality=modality,
                    orientation=orientation, window=win[0] if win else auto, windows=win, source=source,
                    format="dicom", meta={**hdr.safe_meta(ds), **meta})


def read_dicom(blob: Blob, volume_index: int | None = None) -> MedImage:
    """Read one DICOM file: a slice ``(H, W)``, a colour picture ``(H, W, 3)``, or a
    multi-frame file ``(frames, H, W)`` (colour multi-frame: ``volume_index`` picks a frame).
    pydicom's warnings about odd header values become notes (``read_image`` listens)."""
    ds = parse(blob)
    frames, rows, cols, samples = _shape(ds)
    check_shape((frames, rows, cols) if frames > 1 else (rows, cols), blob.name,
                spatial_dims=3 if frames > 1 else 2)
    arr, meta, notes = _decode(ds, blob.name), {}, hdr.rescale_notes(ds)
    sp = _pixel_spacing(ds, notes)
    thickness = hdr.slice_spacing_from_header(ds)
    if samples > 1:
        if frames > 1:
            t = pick_index(volume_index, frames, "frame", blob.name)
            arr, meta["frame_index"] = arr[t], t
        return _image(rgb_to_uint8(arr), ds, sp, "2D", blob.name, meta, notes=notes,
                      affine=_affine(ds, sp, None, thickness, None) if frames == 1 else None)
    mono1 = _monochrome1(ds, notes)
    win = () if mono1 else hdr.windows(ds)  # a MONOCHROME1 header window is for the un-inverted values
    arr, auto = _units_and_window(arr, ds, bool(win))
    if mono1:
        arr, auto = invert(arr), None
    if frames == 1:
        return _image(arr, ds, sp, "2D", blob.name, meta, auto, win, notes=notes,
                      affine=_affine(ds, sp, None, thickness, None))
    positions = hdr.frame_positions(ds)
    positions = positions if positions is not None and len(positions) == frames else None
    sz = thickness
    if sz is None and positions is not None:  # an enhanced file: the frames' own positions
        gap = float(np.linalg.norm(positions[-1] - positions[0])) / (frames - 1)
        sz = gap if gap > 0 else None
    if sz is None and sp is not None:
        notes.append("The DICOM header gives no spacing between the frames: 1 mm is assumed, so sizes "
                     "across frames are in pixels.")
    spacing = None if sp is None else (sz or 1.0, *sp)
    return _image(arr, ds, spacing, "ZYX", blob.name, {"frame_axis": "file order", **meta}, auto, win,
                  affine=_affine(ds, sp, positions, sz, frames), known=sz is not None, notes=notes)


def _datasets(blobs: list[Blob]) -> tuple[list[Dataset], int]:
    out, skipped = [], 0
    for blob in blobs:
        if sniff(blob.head(HEAD_BYTES)) != "dicom":
            skipped += 1
            continue
        try:
            out.append(parse(blob))
        except MedlearnInputError:
            skipped += 1
    return out, skipped


def read_series(blobs: list[Blob], volume_index: int | None, label: str) -> MedImage:
    """Stack several single-frame DICOM files into a volume ``(Z, Y, X)`` (see module doc)."""
    dss, skipped = _datasets(blobs)
    if not dss:
        raise MedlearnInputError(
            f"{label}: none of the {len(blobs)} files is a DICOM image. Give one picture at a time, "
            "or a folder / zip of DICOM slices."
        )
    plan = arrange(dss, volume_index, label)
    first = plan.slices[0]
    frames, rows, cols, samples = _shape(first)
    if any(_shape(d) != (1, rows, cols, samples) for d in plan.slices) or samples != 1:
        raise MedlearnInputError(
            f"{label}: the files are not one series of grey slices of the same size; give them one at a time."
        )
    check_shape((len(plan.slices), rows, cols), label, spatial_dims=3)
    out = None
    for z, ds in enumerate(plan.slices):
        arr = to_units(_decode(ds, label), ds)
        if out is None:
            out = np.empty((len(plan.slices), rows, cols), np.float32 if plan.rescaled else arr.dtype)
        out[z] = arr
    notes: list[str] = hdr.rescale_notes(first)
    if _monochrome1(first, notes):
        out = invert(out)
    sp = _pixel_spacing(first, notes)
    sz = plan.slice_spacing or hdr.slice_spacing_from_header(first)
    meta = {**plan.meta, **({"skipped_files": skipped} if skipped else {})}
    if len(plan.slices) == 1:
        return _image(out[0], first, sp, "2D", label, meta, notes=notes,
                      affine=_affine(first, sp, None, sz, None))
    if sz is None and sp is not None:
        notes.append("Neither the slice positions nor the header give the spacing between slices: 1 mm is "
                     "assumed, so sizes across slices are in pixels.")
    spacing = None if sp is None else (sz or 1.0, *sp)
    positions = [hdr.image_position(d) for d in plan.slices]
    positions = positions if all(p is not None for p in positions) else None
    return _image(out, first, spacing, plan.orientation, label, meta, notes=notes, known=sz is not None,
                  affine=_affine(first, sp, positions, sz, len(plan.slices)))
