"""Medical image readers and writers.

``read_image`` reads PNG, JPEG, TIFF, NumPy (``.npy``/``.npz``), NIfTI and DICOM
(files, multi-frame files, series as several files, a folder or a zip) into a
:class:`~medlearn.data.image.MedImage`; ``save_image`` and ``save_mask`` write PNG,
NIfTI and ``.npy``. Limits against oversized or malicious files live in ``limits``.
"""

from medlearn.data.io.limits import MAX_PIXELS_2D, MAX_UPLOAD_BYTES, MAX_UPLOAD_MIB, MAX_VOXELS_3D
from medlearn.data.io.read import READERS, read_image
from medlearn.data.io.write import save_image, save_mask

__all__ = ["read_image", "save_image", "save_mask", "READERS", "MAX_PIXELS_2D", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_MIB",
           "MAX_VOXELS_3D"]
