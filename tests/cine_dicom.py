"""A synthetic short-axis cine as DICOM files (pydicom), with volumes known exactly.

Each frame holds a square LV cavity (value 300) of ``side`` pixels inside a myocardial
ring 2 pixels wide (value 100) on a 0 background, so :func:`threshold_segment` recovers
the labels exactly and the volumes are whole pixel counts:
cavity ml = Σ side² × pixel² × gap / 1000 over the slices of a phase.
"""

from __future__ import annotations

import io
import random

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

SIZE = 40
PIXEL_MM = 1.5
GAP_MM = 10.0
RING = 2
CAVITY_VALUE, MYO_VALUE = 300, 100

# phase x slice: cavity side in pixels. Phase 1 is fullest (ED), phase 3 emptiest (ES).
SIDES = [[12, 10, 8], [16, 14, 12], [10, 8, 6], [8, 6, 4]]
TRIGGERS = [40.0, 300.0, 520.0, 760.0]


def frame(side: int, size: int = SIZE) -> np.ndarray:
    img = np.zeros((size, size), np.int16)
    lo = (size - side) // 2
    img[lo - RING:lo + side + RING, lo - RING:lo + side + RING] = MYO_VALUE
    img[lo:lo + side, lo:lo + side] = CAVITY_VALUE
    return img


def threshold_segment(image) -> np.ndarray:
    """The exact labels of :func:`frame`: 1 cavity, 2 myocardium, 0 background."""
    p = np.asarray(image.pixels)
    return np.where(p > 200, 1, np.where(p > 50, 2, 0)).astype(np.uint8)


def expected(sides=SIDES, gap: float = GAP_MM, pixel: float = PIXEL_MM) -> dict:
    """Cavity and myocardium volumes per phase, and EDV/ESV/SV/EF/mass with ED = largest cavity."""
    voxel_ml = pixel * pixel * gap / 1000.0
    cavity = [sum(s * s for s in row) * voxel_ml for row in sides]
    myo = [sum((s + 2 * RING) ** 2 - s * s for s in row) * voxel_ml for row in sides]
    ed, es = int(np.argmax(cavity)), int(np.argmin(cavity))
    return {"cavity": cavity, "myo": myo, "ed": ed, "es": es, "edv": cavity[ed], "esv": cavity[es],
            "sv": cavity[ed] - cavity[es], "ef": 100 * (cavity[ed] - cavity[es]) / cavity[ed],
            "mass": myo[ed] * 1.05}


def dicom_frame(pixels: np.ndarray, z_mm: float, trigger: float | None, instance: int, *,
                thickness: float = 8.0, series_uid: str = "1.2.826.0.1.3680043.8.498.77",
                pixel: float = PIXEL_MM) -> bytes:
    """One MR short-axis frame: axial orientation, position (0, 0, z) so the normal is z."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID = "MR", series_uid
    ds.PatientName = "Cine^Synthetic"
    ds.InstanceNumber = instance
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelSpacing = [pixel, pixel]
    ds.SliceThickness = thickness
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0.0, 0.0, float(z_mm)]
    if trigger is not None:
        ds.TriggerTime = trigger
    ds.PixelData = pixels.astype("<i2").tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True, implicit_vr=False, little_endian=True)
    return buf.getvalue()


def cine_files(sides=SIDES, triggers=TRIGGERS, *, gap: float = GAP_MM, extra: tuple = (), seed: int = 0,
               **kw) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of every frame, shuffled; InstanceNumber runs against time so order
    must come from TriggerTime. ``extra``: ``(z_mm, n_frames)`` positions with other frame counts."""
    files = []
    n_phases = len(sides)
    for z in range(len(sides[0])):
        for t in range(n_phases):
            trigger = None if triggers is None else triggers[t]
            files.append((f"z{z}_t{t}.dcm", dicom_frame(frame(sides[t][z]), z * gap, trigger,
                                                       1000 - (z * n_phases + t), **kw)))
    for z_mm, count in extra:
        for t in range(count):
            files.append((f"extra{z_mm:g}_t{t}.dcm", dicom_frame(frame(4), z_mm, triggers[t] if triggers else None,
                                                                2000 + t, **kw)))
    random.Random(seed).shuffle(files)
    return files


def write(folder, files) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        (folder / name).write_bytes(data)
