"""Shared records for the phantom generators: the result, the parameter specs, the registry.

Each case module defines one ``make(rng, difficulty, size, **params) -> Phantom`` and
registers it with :func:`register_generator` together with its ``ParamSpec`` list (the
Phantom lab's sliders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from medlearn.data.image import MedImage
from medlearn.errors import UnknownNameError


@dataclass
class Phantom:
    """One synthetic case with exact ground truth.

    Attributes:
        image: the synthetic image in the modality's own units.
        label: class index into the case's ``task.class_names`` (classification), else None.
        mask: integer label map of ``image.spatial_shape`` (lesion map for classification
            cases, segmentation target for segmentation cases), or None.
        params: the generative parameters actually drawn (JSON-ready), including the seed.
    """

    image: MedImage
    label: int | None
    mask: np.ndarray | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParamSpec:
    """One user-facing generative parameter (a Phantom lab slider or select box).

    ``default=None`` means "drawn at random from the difficulty-dependent prior";
    ``integer=True`` refuses fractions (counts, grades, on/off flags).
    """

    name: str
    label: str
    minimum: float = 0.0
    maximum: float = 1.0
    default: float | None = None
    step: float = 1.0
    help: str = ""
    choices: tuple[str, ...] = ()
    integer: bool = False


Maker = Callable[..., Phantom]


@dataclass(frozen=True)
class Generator:
    case: str
    make: Maker
    params: tuple[ParamSpec, ...]
    default_size: int
    max_size: int = 1024
    headline: tuple[str, ...] = ()  # the phantom's key numbers (``params`` names), first in the lab


_GENERATORS: dict[str, Generator] = {}


def register_generator(case: str, make: Maker, params: tuple[ParamSpec, ...], default_size: int,
                       max_size: int | None = None, headline: tuple[str, ...] = ()) -> Generator:
    """Register the phantom generator of a case; duplicate case keys are refused.

    ``headline``: the numbers of a phantom that say most about its truth (``Phantom.params``
    names), shown before its generative parameters; a study that borrows another's phantom
    (vessels on the grading photograph) leads with its own target, not the grade.

    ``max_size`` caps the ``size`` a user may ask for (default: 1024 px for pictures;
    volume generators should pass a smaller cap, e.g. 256).
    """
    if case in _GENERATORS:
        raise ValueError(f"phantom generator for {case!r} registered twice")
    _GENERATORS[case] = Generator(case, make, tuple(params), default_size, max_size or 1024, tuple(headline))
    return _GENERATORS[case]


def list_generators() -> list[str]:
    """Case keys that have a phantom generator, in registration order."""
    return list(_GENERATORS)


def get_generator(case: str) -> Generator:
    try:
        return _GENERATORS[case]
    except KeyError:
        raise UnknownNameError(
            f"No phantom generator for case {case!r}; known: {', '.join(_GENERATORS)}."
        ) from None
