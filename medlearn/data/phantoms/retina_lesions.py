"""Hard-exudate phantoms: the retina phantom's photograph with its exact hard-exudate mask.

The picture is :func:`medlearn.data.phantoms.retina.make` itself (same anatomy, lesions,
camera); this module only chooses how many exudates to draw and keeps the exudate code
(3, ``retina.LESION_CODES``) of its lesion map as the segmentation target (1 = hard
exudate). About one photograph in six has none, so a network also meets their look-alikes
without them: the bright optic disc, cotton-wool spots. Where a worse finding covers an
exudate (a cotton-wool spot or a beaded vein drawn over it) the lesion map keeps the worse
code, as the retina phantom does, and that pixel is not counted as exudate.
"""

from __future__ import annotations

import numpy as np

from medlearn.data.phantoms import retina
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator

EXUDATE_CODE = next(code for code, name in retina.LESION_CODES.items() if name == "hard exudate")
NONE_SHARE = 0.15  # photographs drawn without exudates (negatives with look-alikes)

PARAMS: tuple[ParamSpec, ...] = tuple(
    s for s in retina.PARAMS if s.name in ("n_exudates", "grade", "n_cotton_wool", "illumination", "pigment", "eye"))


def make(rng: np.random.Generator, difficulty: float, size: int, **p) -> Phantom:
    """One fundus photograph ``(size, size, 3)`` uint8 and its mask (1 = hard exudate).

    Unless given, the number of exudates is drawn (none in :data:`NONE_SHARE` of photographs,
    otherwise 4-60, fewer at higher difficulty) and the grade from the retina phantom's prior
    restricted to grades that have exudates (moderate NPDR or worse). Both are always drawn,
    so fixing one parameter keeps the rest of the photograph.
    """
    none = rng.random() < NONE_SHARE
    count = int(rng.integers(4, 12 + int(48 * (1.0 - 0.5 * difficulty))))
    u = rng.random()
    n_exudates = (0 if none else count) if p.get("n_exudates") is None else int(p["n_exudates"])
    if p.get("grade") is not None:
        grade = int(p["grade"])
    elif n_exudates:  # exudates mean moderate NPDR or worse: the prior over grades 2-4
        cdf = np.cumsum(retina.GRADE_PRIOR[2:]) / np.sum(retina.GRADE_PRIOR[2:])
        grade = 2 + min(int(np.searchsorted(cdf, u, side="right")), len(cdf) - 1)
    else:
        grade = None  # the retina phantom's own prior
    chosen = {**p, "n_exudates": n_exudates, "grade": grade}
    ph = retina.make(rng, difficulty, size, **chosen)
    mask = (ph.mask == EXUDATE_CODE).astype(np.uint8)
    params = {**ph.params, "dr_grade": ph.params["label"], "exudate_pixels": int(mask.sum())}
    params.pop("label")  # the grade is a fact about the photograph here, not the target
    ph.image.source = "phantom:retina_lesions"
    return Phantom(ph.image, None, mask, params)


register_generator("retina_lesions", make, PARAMS, default_size=192, max_size=1024,
                   headline=("exudate_pixels", "n_exudates", "dr_grade", "illumination"))
