"""``python -m medlearn fetch NAME [--size 64] [--from DIR] [--case CASE]``.

Downloads a dataset into the data home with a progress bar, or imports a folder the
user downloaded. ``fetch imagenet-ARCH`` (e.g. ``imagenet-resnet18``) downloads that
network's torchvision ImageNet weights into the torch cache, after printing their size
and licence (:func:`medlearn.models.pretrained.fetch_imagenet_weights`, the downloader the
Train section's transfer-learning preset uses). Offline or a bad checksum: one ``error:``
line and exit status 2.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from medlearn.data.sources.base import Progress


def add_parser(sub):
    p = sub.add_parser("fetch", help="download a dataset or import a folder into the data home")
    p.add_argument("name", help="dataset source name (see `python -m medlearn datasets`), or imagenet-ARCH "
                                "for a network's ImageNet weights (e.g. imagenet-resnet18)")
    p.add_argument("--size", type=int, help="image size for MedMNIST sources: 28, 64, 128 or 224")
    p.add_argument("--from", dest="from_dir", metavar="DIR", help="import this folder instead of downloading")
    p.add_argument("--case", help="case the folder is for (only for `fetch folder`)")
    return p


@contextmanager
def progress_bar(name: str) -> Iterator[Progress]:
    """A tqdm bar driven by ``progress(done_bytes, total_bytes)`` calls (opened on first call)."""
    from tqdm import tqdm

    bars: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(desc=name, unit="B", unit_scale=True, unit_divisor=1024, total=total or None))
        bar = bars[0]
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        for bar in bars:
            bar.close()


IMAGENET_PREFIX = "imagenet-"


def run(args) -> int:
    from medlearn.data.sources import get_source

    if args.name.startswith(IMAGENET_PREFIX):
        return _imagenet(args.name.removeprefix(IMAGENET_PREFIX))
    source = get_source(args.name)
    options = {k: v for k, v in (("size", args.size), ("from_dir", args.from_dir), ("case", args.case))
               if v is not None}
    with progress_bar(args.name) as progress:
        message = source.fetch(progress, **options)
    print(message)
    return 0


def _imagenet(arch: str) -> int:
    """Say what the weights are (size, licence), then download them with a progress bar."""
    from medlearn.data.io.limits import mib
    from medlearn.models.pretrained import LICENCE, fetch_imagenet_weights, weights_file

    wf = weights_file(arch)  # no weights for this network: a typed error, one line
    size = f"about {mib(wf.approx_bytes)}" if wf.approx_bytes else "size unknown"
    print(f"{wf.title}: torchvision's ImageNet weights ({wf.name}, {size}) from {wf.host}")
    print(f"Licence: {LICENCE}")
    with progress_bar(wf.name) as progress:
        path = fetch_imagenet_weights(arch, progress=progress)
    print(f"Saved and checked (SHA-256 prefix {wf.hash_prefix}): {path}")
    return 0
