"""Transfer-learning weight sources, reported honestly.

Two sources exist:

* **ImageNet weights from torchvision**, used only when the file is already in the
  torch hub cache (``torch.hub.get_dir()/checkpoints``). Tests never download;
  :func:`fetch_imagenet_weights` downloads only when a user asks for it, through the one
  downloader of MedLearn (``medlearn.data.sources.download``: progress in bytes, a ``.part``
  that resumes, the SHA-256 prefix torchvision puts in every file name checked, then one
  atomic rename into the cache). ``$MEDLEARN_WEIGHTS_BASE`` (else ``$MEDLEARN_DOWNLOAD_BASE``,
  the datasets' mirror) replaces the official host (``<base>/<file name>``: an institutional
  mirror; the tests' server on 127.0.0.1).
* **MedLearn weights** from a checkpoint trained on another MedLearn dataset (e.g.
  the phantoms of another case): :func:`load_backbone_from` copies every tensor
  whose name and shape match and says how many.

The UI must never claim "pretrained" when it is not: read ``model.medlearn_weights``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import torch
from torch import nn

from medlearn.errors import MedlearnInputError
from medlearn.models.registry import get_spec

IMAGENET_CACHED = "ImageNet weights (torchvision, cached)"
IMAGENET_OFFLINE = "no ImageNet weights available offline"
IMAGENET_NONE = "no ImageNet weights exist for this architecture"
PUBLISHED_WIDTH = 64  # ImageNet weights only fit the published channel counts
WEIGHTS_BASE_ENV = "MEDLEARN_WEIGHTS_BASE"
TORCHVISION_LICENCE_URL = "https://github.com/pytorch/vision#pre-trained-model-license"
IMAGENET_TERMS_URL = "https://image-net.org/download.php"
LICENCE = (
    "torchvision's code is BSD 3-Clause licensed. Of its pre-trained weights torchvision says: \"The "
    "pre-trained models provided in this library may have their own licenses or terms and conditions derived "
    "from the dataset used for training. It is your responsibility to determine whether you have permission to "
    "use the models for your use case.\" These weights were trained on ImageNet-1K, whose terms of access allow "
    "its images for non-commercial research and educational purposes only: fine for a class, not for a "
    "product.")


@dataclass
class LoadReport:
    """What a partial weight transfer did (names of the target model's tensors)."""

    copied: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)  # RGB kernels summed to 1 channel
    skipped: list[str] = field(default_factory=list)  # kept at random initialisation

    @property
    def total(self) -> int:
        return len(self.copied) + len(self.adapted) + len(self.skipped)

    def describe(self) -> str:
        text = f"{len(self.copied) + len(self.adapted)} of {self.total} tensors loaded"
        if self.adapted:
            text += f" ({len(self.adapted)} colour kernels summed to grey)"
        return text


def imagenet_weights(name: str):
    """The torchvision ``Weights`` enum member for ``name``, or None if there is none."""
    from torchvision.models import get_model_weights

    tv_name = get_spec(name).imagenet
    return get_model_weights(tv_name).DEFAULT if tv_name else None


@dataclass(frozen=True)
class WeightsFile:
    """The torchvision file of one architecture's ImageNet weights.

    Attributes:
        arch, title: the MedLearn registry name and its title.
        official_url: where torchvision publishes it (``download.pytorch.org``).
        dest: where torch keeps it (``torch.hub.get_dir()/checkpoints/<file name>``).
        approx_bytes: its size from torchvision's ``Weights.meta["_file_size"]`` (MiB), or None.
        num_params: parameters of the published network; top1: its ImageNet-1K top-1 accuracy (%).
    """

    arch: str
    title: str
    official_url: str
    dest: Path
    approx_bytes: int | None = None
    num_params: int | None = None
    top1: float | None = None

    @property
    def name(self) -> str:
        return self.dest.name

    @property
    def hash_prefix(self) -> str:
        """The first hex digits of the file's SHA-256, as torchvision names it (``resnet18-f37072fd.pth``)."""
        found = re.search(r"-([a-f0-9]{6,64})\.", self.name)  # torch.hub.HASH_REGEX, at least 6 digits
        return found.group(1) if found else ""

    @property
    def url(self) -> str:
        """The official address, or ``<base>/<file name>`` when ``$MEDLEARN_WEIGHTS_BASE`` (or,
        unset, the datasets' ``$MEDLEARN_DOWNLOAD_BASE``: one mirror of official files) is set."""
        from medlearn.data.sources.download import BASE_ENV

        base = (os.environ.get(WEIGHTS_BASE_ENV) or os.environ.get(BASE_ENV) or "").strip().rstrip("/")
        return f"{base}/{self.name}" if base else self.official_url

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc or self.url

    @property
    def cached(self) -> bool:
        return self.dest.is_file()

    @property
    def partial_bytes(self) -> int:
        """Bytes of an interrupted download waiting to be resumed (0 when none)."""
        from medlearn.data.sources.download import part_path

        part = part_path(self.dest)
        return part.stat().st_size if part.is_file() else 0


def weights_file(name: str) -> WeightsFile:
    """The ImageNet weights file of architecture ``name``.

    Raises:
        MedlearnInputError: the architecture has no ImageNet weights.
    """
    weights = imagenet_weights(name)
    title = get_spec(name).title
    if weights is None:
        raise MedlearnInputError(f"{title}: {IMAGENET_NONE}; train it from scratch instead.")
    meta = dict(getattr(weights, "meta", {}) or {})
    mib = meta.get("_file_size")
    top1 = (meta.get("_metrics") or {}).get("ImageNet-1K", {}).get("acc@1")
    return WeightsFile(name, title, weights.url, Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name,
                       int(float(mib) * 2 ** 20) if mib else None, meta.get("num_params"), top1)


def cached_path(name: str) -> Path | None:
    """Path of the cached ImageNet checkpoint for ``name``, or None when not on this machine."""
    if imagenet_weights(name) is None:
        return None
    path = weights_file(name).dest
    return path if path.is_file() else None


def imagenet_unavailable_reason(name: str) -> str | None:
    """Why ``name`` cannot start from ImageNet weights here, in plain words; None when it can
    (the file is in the torch cache). Asks no network: see :func:`fetch_imagenet_weights`."""
    if imagenet_weights(name) is None:
        return f"{get_spec(name).title} has no published ImageNet weights"
    wf = weights_file(name)
    if wf.cached:
        return None
    size = f" ({wf.approx_bytes / 1e6:.1f} MB)" if wf.approx_bytes else ""
    return (f"{wf.title}'s ImageNet weights{size} are not on this machine; MedLearn downloads them only "
            "when you ask (needs internet)")


def cached_imagenet_file(name: str) -> Path:
    """Like :func:`cached_path` but raises :class:`MedlearnInputError` with the reason."""
    title = get_spec(name).title
    if imagenet_weights(name) is None:
        raise MedlearnInputError(f"{title}: {IMAGENET_NONE}; train it from scratch instead.")
    path = cached_path(name)
    if path is None:
        raise MedlearnInputError(
            f"{title}: {IMAGENET_OFFLINE}. Download them first (needs internet), "
            "or train from scratch.")
    return path


def weights_status(name_or_model: str | nn.Module) -> str:
    """An honest one-line status: for a registry name, which ImageNet weights are on this
    machine; for a built model, what its weights actually are."""
    if isinstance(name_or_model, nn.Module):
        return getattr(name_or_model, "medlearn_weights", "unknown weights (not built by MedLearn)")
    if imagenet_weights(name_or_model) is None:
        return IMAGENET_NONE
    return IMAGENET_CACHED if cached_path(name_or_model) else IMAGENET_OFFLINE


def fetch_imagenet_weights(name: str, progress: Callable[[int, int], None] | None = None,
                           timeout: float = 10.0, probe_timeout: float = 3.0) -> Path:
    """Download the ImageNet weights of ``name`` into the torch hub cache (a user's request only).

    The one downloader (``medlearn.data.sources.download.download``) fetches the file into
    ``<file>.part`` (an interrupted download resumes), checks the SHA-256 prefix in its name
    and renames it into the cache in one step: a damaged or partial file never lands there.

    Args:
        name: registry name (``"resnet18"``).
        progress: called as ``progress(done_bytes, total_bytes)`` (total 0 when unknown).
        timeout: seconds for connecting and for each read.
        probe_timeout: seconds to learn whether the host answers at all (offline: no wait).

    Returns:
        The cached file (already there: returned at once, after its checksum is checked).

    Raises:
        MedlearnInputError: no weights exist, offline, no disk space, or a damaged download.
    """
    from medlearn.data.sources.download import download, probe, verify
    from medlearn.errors import DatasetUnavailableError

    wf = weights_file(name)
    if wf.cached and (not wf.hash_prefix or verify(wf.dest, sha256=wf.hash_prefix)):
        return wf.dest  # progress: nothing to report
    # not here, or damaged: the network is needed
    if probe(wf.url, timeout=probe_timeout) is None:
        raise MedlearnInputError(
            f"Cannot download {wf.title}'s ImageNet weights: this machine cannot reach {wf.host} (no "
            f"internet, or the site is down). On a machine with internet, download {wf.official_url} and "
            f"copy {wf.name} into {wf.dest.parent}; or train from scratch.")
    wf.dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(wf.dest.parent).free
    if wf.approx_bytes and wf.approx_bytes - wf.partial_bytes > free:
        raise MedlearnInputError(
            f"Not enough disk space for {wf.title}'s ImageNet weights: {wf.approx_bytes / 1e6:.1f} MB needed, "
            f"{free / 1e6:.1f} MB free in {wf.dest.parent}. Free some space, or set TORCH_HOME to a folder on "
            "a larger disk.")
    try:
        return download(wf.url, wf.dest, sha256=wf.hash_prefix or None, progress=progress, timeout=timeout)
    except DatasetUnavailableError as exc:
        raise MedlearnInputError(f"{wf.title}'s ImageNet weights: {exc}") from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file; ``weights_only`` loading never runs pickled code."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise MedlearnInputError(f"Could not read weights from {Path(path).name}: {exc}") from None
    return _tensors(state)


def load_matching(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> LoadReport:
    """Copy tensors whose name and shape match into ``model``; colour first-layer kernels
    ``(O, 3, *k)`` are summed into grey ``(O, 1, *k)``. Everything else keeps its init."""
    source, report = _tensors(state_dict), LoadReport()
    target = model.state_dict()
    for key, value in target.items():
        src = source.get(key)
        if src is not None and src.shape == value.shape:
            target[key] = src.to(value.dtype)
            report.copied.append(key)
        elif src is not None and _is_rgb_to_grey(src, value):
            target[key] = src.sum(dim=1, keepdim=True).to(value.dtype)
            report.adapted.append(key)
        else:
            report.skipped.append(key)
    model.load_state_dict(target)
    return report


def load_backbone_from(model: nn.Module, state_dict: Mapping[str, torch.Tensor],
                       source: str = "another MedLearn dataset") -> LoadReport:
    """Warm-start ``model`` from a MedLearn checkpoint trained on ``source``.

    Returns:
        The :class:`LoadReport`; ``model.medlearn_weights`` becomes
        ``"MedLearn weights pre-trained on <source>"``.

    Raises:
        MedlearnInputError: when not a single tensor fits (a different architecture).
    """
    report = load_matching(model, state_dict)
    if not report.copied and not report.adapted:
        raise MedlearnInputError(
            "None of the checkpoint's weights fit this model: it was trained with a different "
            "architecture or width.")
    model.medlearn_weights = f"MedLearn weights pre-trained on {source}"
    model.medlearn_weights_detail = report.describe()
    return report


def _is_rgb_to_grey(src: torch.Tensor, dst: torch.Tensor) -> bool:
    return (src.dim() == dst.dim() >= 3 and src.shape[1] == 3 and dst.shape[1] == 1
            and src.shape[0] == dst.shape[0] and src.shape[2:] == dst.shape[2:])


def _tensors(state: object) -> dict[str, torch.Tensor]:
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]  # a checkpoint wrapping its weights
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MedlearnInputError("This file does not hold model weights (a name -> tensor mapping).")
    return dict(state)
