"""Tiny DICOM files built with pydicom (no network, no real patients), for any test:
``from dicom_helpers import dicom_bytes`` (``tests/`` is on the path through its conftest)."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

SERIES_UID = "1.2.826.0.1.3680043.8.498.1"


def dicom_bytes(pixels: np.ndarray, *, modality: str = "CT", position=None, orientation=(1, 0, 0, 0, 1, 0),
                instance: int | None = 1, slope=None, intercept=None, center=None, width=None,
                spacing=(0.7, 0.8), series_uid: str = SERIES_UID, trigger=None, frames: bool = False,
                pixel_data: bool = True, sop_class=CTImageStorage, transfer_syntax=ExplicitVRLittleEndian,
                preamble: bool = True, photometric: str = "MONOCHROME2") -> bytes:
    """A DICOM file holding ``pixels`` (int16 ``(H, W)`` or, with ``frames``, ``(F, H, W)``),
    with identifying patient fields filled in so tests can prove they never leak."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Doe^Jane", "PID-424242", "19700101"
    ds.InstitutionName = "Secret Hospital"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesDescription = modality, series_uid, "tiny test series"
    if instance is not None:
        ds.InstanceNumber = instance
    if pixel_data:
        arr = np.asarray(pixels)
        ds.Rows, ds.Columns = arr.shape[-2:]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelSpacing = list(spacing)
        if orientation is not None:
            ds.ImageOrientationPatient = list(orientation)
        if position is not None:
            ds.ImagePositionPatient = list(position)
        if frames:
            ds.NumberOfFrames = arr.shape[0]
            ds.SpacingBetweenSlices = 2.5
        for key, value in (("RescaleSlope", slope), ("RescaleIntercept", intercept),
                           ("WindowCenter", center), ("WindowWidth", width), ("TriggerTime", trigger)):
            if value is not None:
                setattr(ds, key, value)
        if transfer_syntax.is_compressed:
            ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7 not really JPEG-LS"])
            ds["PixelData"].VR = "OB"
        else:
            ds.PixelData = arr.astype("<i2").tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True, implicit_vr=False, little_endian=True)
    data = buf.getvalue()
    return data if preamble else data[132:]  # an old-style file: no preamble, no "DICM"
