"""Samples, the dataset-source base class, and the source registry.

A *source* is one way to get images for one or more case studies: synthetic phantoms,
images shipped inside installed packages, a download, or a folder the user imports.
Every source hands out :class:`Sample` records whose labels and masks already index
the case's ``task.class_names``, so trainers and pages never remap labels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, UnknownNameError

if TYPE_CHECKING:
    from medlearn.data.sources.download import RemoteFile

Progress = Callable[[int, int], None]
SPLITS = ("train", "val", "test", "all")
KINDS = ("phantom", "package", "download", "folder")


@dataclass
class Sample:
    """One image with its ground truth.

    Attributes:
        id: unique within the source (file stem, dataset index...).
        image: the pixels and their geometry.
        label: index into the case's ``task.class_names`` (classification), or None
            when the truth is unknown or the case is a segmentation case.
        mask: integer array of ``image.spatial_shape``. Segmentation cases: values
            index ``class_names`` (0 background). Classification cases: a lesion map
            (0 background, 1 lesion) used to score explanations. None when absent.
        meta: JSON-ready facts (patient, phase, diameter, original label, notes...).
    """

    id: str
    image: MedImage
    label: int | None = None
    mask: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mask is not None:
            mask = np.asarray(self.mask)
            if tuple(mask.shape) != tuple(self.image.spatial_shape):
                raise MedlearnInputError(
                    f"The mask of {self.id} has shape {mask.shape} but its image has "
                    f"shape {self.image.spatial_shape}; they must match."
                )
            self.mask = mask.astype(np.uint8) if mask.dtype.kind in "biuf" else mask
        if self.label is not None:
            self.label = int(self.label)


def undrawn_classes(item: Any, num_classes: int) -> list[int]:
    """The classes the experts did not draw on an item (partial labels: ``meta["labelled"]``
    lists those drawn; a Sunnybrook frame without an epicardial contour leaves the myocardium
    undrawn). Empty when the item says nothing: its mask is then taken as complete."""
    labelled = (getattr(item, "meta", None) or {}).get("labelled")
    return [] if labelled is None else sorted(set(range(num_classes)) - {int(c) for c in labelled})


class DatasetSource(ABC):
    """Base class of all dataset sources; subclasses override :meth:`_load`.

    Attributes (class or instance):
        name: registry key, also the folder name in the data home.
        title: human name.
        cases: case keys this source serves.
        kind: ``"phantom"``, ``"package"``, ``"download"`` or ``"folder"``.
        licence, citation, url, description: shown on the Data page and ``datasets``.
    """

    name: str = ""
    title: str = ""
    cases: tuple[str, ...] = ()
    kind: str = "folder"
    licence: str = ""
    citation: str = ""
    url: str = ""
    description: str = ""

    def availability(self) -> str:
        """Where the data is found here (``"package"``, ``"mirror"``, ``"data home"``...), or ``""``."""
        return ""

    def is_available(self) -> bool:
        """True when :meth:`load` can work without the network."""
        return bool(self.availability())

    def fetch(self, progress: Progress | None = None, **options: Any) -> str:
        """Make the data available locally (download or import); returns a status line."""
        if options:
            raise MedlearnInputError(
                f"The {self.title} source takes no fetch options (got: {', '.join(options)})."
            )
        return self.status()

    def remote_file(self) -> RemoteFile | None:
        """The file :meth:`fetch` downloads when given nothing (address, checksum, size), or
        None for a source that downloads nothing. May raise :class:`DatasetUnavailableError`
        when the table of addresses cannot be read."""
        return None

    def status(self) -> str:
        """One line for people: available where, or how to get it."""
        where = self.availability()
        return f"{self.name}: available ({where})" if where else f"{self.name}: not on this machine"

    def load(self, case: str, split: str = "all", limit: int | None = None, **options: Any) -> list[Sample]:
        """Samples of ``case`` in ``split`` (``train``/``val``/``test``/``all``), at most ``limit``."""
        self.check_request(case, split, limit)
        return self._load(case, split, limit, **options)

    @abstractmethod
    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        """Subclass hook: arguments are already validated."""

    def check_request(self, case: str, split: str, limit: int | None) -> None:
        """Raise a typed, readable error for a bad case, split or limit."""
        from medlearn.cases import get_case

        get_case(case)  # UnknownNameError for a typo
        if case not in self.cases:
            raise MedlearnInputError(
                f"The {self.title} source has no images for the {case!r} case; "
                f"it serves: {', '.join(self.cases)}."
            )
        if split not in SPLITS:
            raise MedlearnInputError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise MedlearnInputError(f"limit must be a positive whole number or None, got {limit!r}.")

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for tables and the Data page."""
        return {
            "name": self.name, "title": self.title, "cases": list(self.cases), "kind": self.kind,
            "licence": self.licence, "citation": self.citation, "url": self.url,
            "available": self.availability(), "description": self.description,
        }


_REGISTRY: dict[str, DatasetSource] = {}


def register_source(source: DatasetSource) -> DatasetSource:
    """Add a source instance to the registry; duplicate names are refused."""
    if not source.name or source.kind not in KINDS:
        raise ValueError(f"source {source.name!r} needs a name and a kind in {KINDS}")
    if source.name in _REGISTRY:
        raise ValueError(f"dataset source {source.name!r} is registered twice")
    _REGISTRY[source.name] = source
    return source


def get_source(name: str) -> DatasetSource:
    """The source called ``name``, or :class:`UnknownNameError` listing the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownNameError(
            f"Unknown dataset {name!r}; known datasets: {', '.join(_REGISTRY)}."
        ) from None


def list_sources(case: str | None = None) -> list[DatasetSource]:
    """All sources in registration order, or those serving ``case``."""
    if case is not None:
        from medlearn.cases import get_case

        get_case(case)
    return [s for s in _REGISTRY.values() if case is None or case in s.cases]
