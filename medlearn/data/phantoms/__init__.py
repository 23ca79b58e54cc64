"""Synthetic phantoms with exact ground truth, one generator per case study.

``generate(case, n, seed)`` is the entry point: case ``i`` of a call is drawn from the
child seed ``SeedSequence(seed, spawn_key=(i,))``, so an item never depends on ``n``
and ``make_one(case, seed, index=i)`` reproduces it alone. User parameters are
checked against the generator's :class:`ParamSpec` list before anything is drawn.
"""

from __future__ import annotations

import numbers

import numpy as np

from medlearn.data.phantoms.base import ParamSpec, Phantom, get_generator, list_generators, register_generator
from medlearn.data.phantoms import retina, breast, lung, hippocampus, heart, gastric  # noqa: F401  (registers)
from medlearn.data.phantoms import retina_vessels  # noqa: F401,E402  (vessel trees: the retina phantom's)
from medlearn.data.phantoms import retina_lesions  # noqa: F401,E402  (hard exudates: the retina phantom's)
from medlearn.data.phantoms import lung_slice  # noqa: F401,E402  (chest slices with nodules: the lung phantom's)
from medlearn.data.phantoms.heart import make_cine
from medlearn.errors import MedlearnInputError

__all__ = ["Phantom", "ParamSpec", "generate", "make_one", "param_specs", "make_cine",
           "list_generators", "register_generator"]

MIN_SIZE, MAX_N = 8, 100_000


def param_specs(case: str) -> list[ParamSpec]:
    """The user-facing generative parameters of a case (the Phantom lab's controls)."""
    return list(get_generator(case).params)


def _check_params(case: str, params: dict) -> dict:
    specs = {s.name: s for s in get_generator(case).params}
    unknown = sorted(set(params) - set(specs))
    if unknown:
        raise MedlearnInputError(
            f"Unknown phantom parameter(s) {', '.join(unknown)} for case {case!r}; "
            f"valid ones: {', '.join(specs) or 'none'}."
        )
    clean = {}
    for name, value in params.items():
        spec = specs[name]
        if value is None:
            clean[name] = None
        elif spec.choices:
            if value not in spec.choices:
                raise MedlearnInputError(f"{spec.label} must be one of {', '.join(spec.choices)}, not {value!r}.")
            clean[name] = value
        else:
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
                raise MedlearnInputError(f"{spec.label} ({name}) must be a number, not {value!r}.")
            if not spec.minimum <= value <= spec.maximum:
                raise MedlearnInputError(
                    f"{spec.label} ({name}) must lie between {spec.minimum:g} and {spec.maximum:g}; got {value:g}."
                )
            if spec.integer and float(value) != int(value):
                raise MedlearnInputError(f"{spec.label} ({name}) must be a whole number; got {value:g}.")
            clean[name] = int(value) if spec.integer else float(value)
    return clean


def _check_common(n: int, seed: int, difficulty: float, size: int | None, default: int, max_size: int) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_N:
        raise MedlearnInputError(f"The number of phantoms must be a whole number from 1 to {MAX_N}; got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise MedlearnInputError(f"The seed must be a whole number of at least 0; got {seed!r}.")
    if isinstance(difficulty, bool) or not isinstance(difficulty, numbers.Real) or not 0 <= difficulty <= 1:
        raise MedlearnInputError(f"Difficulty must be a number from 0 (easy) to 1 (hard); got {difficulty!r}.")
    if size is None:
        return default
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not MIN_SIZE <= size <= max_size:
        raise MedlearnInputError(f"Size must be a whole number of pixels from {MIN_SIZE} to {max_size}; got {size!r}.")
    return int(size)


def make_one(case: str, seed: int = 0, index: int = 0, difficulty: float = 0.5, size: int | None = None,
             **params) -> Phantom:
    """Phantom number ``index`` of ``generate(case, n > index, seed, ...)``, drawn alone."""
    gen = get_generator(case)
    size = _check_common(1, seed, difficulty, size, gen.default_size, gen.max_size)
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
        raise MedlearnInputError(f"The phantom index must be a whole number of at least 0; got {index!r}.")
    clean = _check_params(case, params)
    return _draw(gen, int(seed), int(index), float(difficulty), size, clean)


def _draw(gen, seed: int, index: int, difficulty: float, size: int, clean: dict) -> Phantom:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    ph = gen.make(rng, difficulty, size, **clean)
    ph.params = {"case": gen.case, "seed": seed, "index": index, "difficulty": difficulty, "size": size,
                 **ph.params}
    ph.image.source = f"phantom:{gen.case}:seed={seed}:index={index}"
    return ph


def generate(case: str, n: int = 1, seed: int = 0, difficulty: float = 0.5, size: int | None = None,
             **params) -> list[Phantom]:
    """Draw ``n`` phantoms of a case.

    Args:
        case: case key (``"retina"``, ``"breast"``, ``"lung"``, ``"hippocampus"``,
            ``"heart"``, ``"gastric"``).
        n: how many; seed: base seed (same seed, same phantoms).
        difficulty: 0 (easy) ... 1 (hard); noise, contrast, lesion size, class overlap.
        size: pixels along each side (``None``: the generator's default).
        **params: fixed generative parameters (see :func:`param_specs`); others are drawn.

    Returns:
        ``n`` :class:`Phantom` records; ``params`` of each holds every drawn value.

    Raises:
        UnknownNameError: no generator for ``case``.
        MedlearnInputError: an unknown parameter name or a value out of range.
    """
    gen = get_generator(case)
    size = _check_common(n, seed, difficulty, size, gen.default_size, gen.max_size)
    clean = _check_params(case, params)
    return [_draw(gen, int(seed), i, float(difficulty), size, clean) for i in range(int(n))]
