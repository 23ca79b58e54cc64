"""Vessel phantoms: the retina phantom's photograph with the exact mask of its vessel tree.

The picture is :func:`medlearn.data.phantoms.retina.compose` itself (same anatomy, lesions,
camera); the truth is the coverage of the vessel tree it drew, before the camera blurred
it: a pixel is vessel when at least half of it lies inside a vessel (trunks, branches,
beaded veins, IRMA and new vessels alike), so the thinnest sub-pixel branches, which a
grader could not draw either, are not asked for. Nothing outside the field of view is vessel.

The default size is 512 px: a 45° photograph of about 12 mm of retina, so the main veins
(about 150 µm) are 6 px wide and the smallest branches 1-2 px, as in a CHASE_DB1 photograph
(999 x 960 px over 30°), where the large vessels are 8-12 px wide.
"""

from __future__ import annotations

import numpy as np

from medlearn.data.phantoms import retina
from medlearn.data.phantoms.base import Phantom, register_generator

COVERED = 0.5  # the share of a pixel inside a vessel that makes it a vessel pixel
DEFAULT_SIZE = 512


def make(rng: np.random.Generator, difficulty: float, size: int, **p) -> Phantom:
    """One fundus photograph ``(size, size, 3)`` uint8 and its vessel mask (1 = vessel).

    Parameters are the retina phantom's (grade, lesions, illumination, pigmentation, eye):
    a student can ask whether haemorrhages or uneven light fool the vessel network.
    """
    ph, coverage = retina.compose(rng, difficulty, size, **p)
    mask = (coverage >= COVERED).astype(np.uint8)
    params = {**ph.params, "dr_grade": ph.params["label"],
              "vessel_fraction": round(float(mask.mean()), 4)}
    params.pop("label")  # the grade is a fact about the photograph here, not the target
    return Phantom(ph.image, None, mask, params)


register_generator("retina_vessels", make, retina.PARAMS, default_size=DEFAULT_SIZE, max_size=1024,
                   headline=("vessel_fraction", "dr_grade", "n_haemorrhages", "illumination"))
