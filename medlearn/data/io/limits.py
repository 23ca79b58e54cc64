"""Size limits that every reader checks *before* decoding pixels.

A small file can claim an enormous image (a "decompression bomb"): a PNG that
inflates to gigabytes, a gzip NIfTI whose header promises billions of voxels, a zip
whose members unpack to far more than the archive. Each reader therefore reads the
header first, asks these functions, and only then decodes.
"""

from __future__ import annotations

import math
import numbers

from medlearn.errors import MedlearnInputError

MIB = 1024 * 1024
"""Bytes in a mebibyte (MiB): the unit of every size MedLearn states, as of Streamlit's upload limit."""

MAX_UPLOAD_MIB = 200
"""Largest file or upload accepted, in MiB: the one number behind the reader's refusal, the upload
page's text and ``server.maxUploadSize`` in ``.streamlit/config.toml`` (a test checks the config
says the same). Streamlit counts that setting in MiB: its upload route allows
``config.get_option("server.maxUploadSize") * 1024 * 1024`` bytes
(``streamlit/web/server/starlette/starlette_routes.py``, Streamlit 1.67)."""

MAX_UPLOAD_BYTES = MAX_UPLOAD_MIB * MIB
"""Largest file or upload accepted, in bytes."""

MAX_PIXELS_2D = 40_000_000
"""Largest 2D picture, in pixels (40 megapixels)."""

MAX_VOXELS_3D = 64_000_000
"""Largest 3D volume, in voxels (e.g. 400 x 400 x 400)."""

MAX_VOXELS_4D = 4 * MAX_VOXELS_3D
"""Largest 4D NIfTI (all volumes together) that may be loaded to pick one volume."""

MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
"""Largest total uncompressed size of a zip archive's members, in bytes."""

MAX_ZIP_RATIO = 200
"""Largest compression ratio accepted for a zip member (DICOM rarely beats 20)."""

MAX_ZIP_MEMBERS = 5000
"""Most members a zip archive may hold."""

MIN_SIDE = 2
"""Fewest pixels along each in-plane axis a reader accepts (a 1-pixel line is no image; a model
asks for more: :data:`medlearn.card.MIN_PREDICT_SIDE`)."""

MAX_ASPECT = 20
"""Largest ratio of the in-plane sides (a 1 x 100,000 strip is no medical image)."""


DECODE_BYTES_PER_VALUE = 10
"""Memory a reader needs per pixel or voxel while decoding, in bytes: the file's values, their
float32 copy and a float32 working copy (measured: a 150 MB float32 NIfTI peaked ~340 MB above
the file's own bytes, bench/results/memory_profile.json), with headroom."""

MEMORY_RESERVE_BYTES = 512 * MIB
"""Free memory the server keeps for everyone else when it decodes a file."""


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``, within a cgroup limit when one is
    set), or None where the system does not say."""
    try:
        with open("/proc/meminfo") as fh:
            free = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None
    try:  # a container's own limit (cgroup v2) can be far below the machine's
        limit = open("/sys/fs/cgroup/memory.max").read().strip()
        used = int(open("/sys/fs/cgroup/memory.current").read().strip())
        if limit != "max":
            free = min(free, int(limit) - used)
    except (OSError, ValueError):
        pass
    return free


def check_memory(values: int, name: str) -> None:
    """Refuse, before decoding, a file whose ``values`` (pixels or voxels) would not fit in the
    memory available now (with :data:`MEMORY_RESERVE_BYTES` kept for others)."""
    free = available_memory()
    need = int(values) * DECODE_BYTES_PER_VALUE
    if free is not None and need > free - MEMORY_RESERVE_BYTES:
        raise MedlearnInputError(
            f"{name}: decoding it needs about {mib(need)} of memory and this server has {mib(max(free, 0))} "
            "free just now. Try again in a minute (others may be uploading), or crop or downsample it first.")


MAX_SESSION_VALUES = 8_000_000
"""Most pixels or voxels a web session keeps of an upload (e.g. 256 x 256 x 122): a larger image
is kept downsampled (``medlearn.data.image.downsampled``), so 20 students uploading 150 MB
volumes do not hold 20 full copies. Screens and models read far fewer (viewers 512 px, models
48-224 px)."""


def mib(n: int) -> str:
    """A size in bytes as whole MiB, as MedLearn's messages state sizes (``"200 MiB"``)."""
    return f"{n / MIB:.0f} MiB"


def check_bytes(n: int, name: str) -> None:
    """Refuse an empty file or one larger than :data:`MAX_UPLOAD_BYTES`."""
    if n == 0:
        raise MedlearnInputError(f"{name}: the file is empty (0 bytes). Choose another file.")
    if n > MAX_UPLOAD_BYTES:
        raise MedlearnInputError(
            f"{name}: the file is {mib(n)}, more than the {mib(MAX_UPLOAD_BYTES)} MedLearn accepts."
        )


def check_shape(shape: tuple[int, ...], name: str, *, spatial_dims: int) -> None:
    """Refuse a picture or volume whose header claims too many pixels or voxels.

    Args:
        shape: the array shape announced by the header (channels included or not).
        name: the file name, for the message.
        spatial_dims: 2 for pictures (limit :data:`MAX_PIXELS_2D` on ``H*W``), 3 for
            volumes (:data:`MAX_VOXELS_3D`), 4 for a 4D stack (:data:`MAX_VOXELS_4D`).
    """
    if any(int(s) <= 0 for s in shape):
        raise MedlearnInputError(f"{name}: the header announces an empty image of shape {tuple(shape)}.")
    if spatial_dims in (2, 3) and len(shape) >= 2:
        h, w = (int(s) for s in (shape[:2] if spatial_dims == 2 else shape[-2:]))
        if min(h, w) < MIN_SIDE:
            raise MedlearnInputError(f"{name}: the image is {h} x {w} pixels; MedLearn needs at least "
                                     f"{MIN_SIDE} pixels each way to show anything.")
        if max(h, w) > MAX_ASPECT * min(h, w):
            raise MedlearnInputError(f"{name}: the image is {h} x {w} pixels, more than {MAX_ASPECT} times longer "
                                     "one way than the other: not a picture MedLearn can show or predict.")
    if spatial_dims == 2:
        count, limit, what = math.prod(int(s) for s in shape[:2]), MAX_PIXELS_2D, "pixels"
    else:
        count, what = math.prod(int(s) for s in shape), "voxels"
        limit = MAX_VOXELS_3D if spatial_dims == 3 else MAX_VOXELS_4D
    if count > limit:
        raise MedlearnInputError(
            f"{name}: the image would have {count:,} {what}, more than the {limit:,} MedLearn accepts "
            "(a very large image, or a damaged / malicious header). Crop or downsample it first."
        )
    check_memory(math.prod(int(s) for s in shape), name)


def pick_index(index: int | None, count: int, what: str, name: str) -> int:
    """Validate a ``volume_index`` against ``count`` items; ``None`` means 0."""
    if index is None:
        return 0
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise MedlearnInputError(f"The {what} number must be a whole number, got {index!r}.")
    index = int(index)
    if not 0 <= index < count:
        raise MedlearnInputError(
            f"{name}: asked for {what} {index}, but the file holds {count} (numbered 0 to {count - 1})."
        )
    return index
