"""Breast B-mode ultrasound phantom (linear probe) with BI-RADS-described lesions.

Image formation follows the physics, in four vectorised steps: a reflectivity map
of the tissue layers (skin, subcutaneous fat lobules with Cooper's ligaments,
fibroglandular tissue, retromammary fat, pectoral muscle with striations); random
scatterers imaged through an anisotropic point-spread function (speckle, see
``common.speckle``); attenuation accumulated along each beam line (so a cyst lets
more sound through, posterior enhancement, and a dense malignant mass less,
shadowing) with time-gain compensation that only partly corrects the average
tissue loss; then log compression to a 50-60 dB display range in 0-255 grey.

Lesions follow the ACR BI-RADS ultrasound lexicon: benign findings are oval,
parallel (wider than tall) and circumscribed (anechoic cysts with enhancement,
hypoechoic fibroadenomas); malignant ones irregular, often taller than wide, with
indistinct, angular or spiculated margins, heterogeneous and shadowing. Difficulty
makes each descriptor less faithful to its class, so classes overlap as in BUSI.
Label: 1 malignant, 0 benign or normal; mask 1 inside the lesion (empty if normal).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from medlearn.data.image import MedImage, Window
from medlearn.data.phantoms import common as C
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator

FINDINGS = ("normal", "cyst", "fibroadenoma", "malignant")
MARGINS = ("circumscribed", "indistinct", "angular", "spiculated")
POSTERIOR = {"enhancement": 0.004, "none": 0.016, "shadowing": 0.09}  # attenuation per mm
TISSUE_ATTENUATION = 0.016  # amplitude e-folds per mm (~0.75 dB/cm/MHz at 7.5 MHz, two-way)

PARAMS = (
    ParamSpec("finding", "Finding", choices=FINDINGS, help="normal, cyst, fibroadenoma or malignant"),
    ParamSpec("lesion_size_mm", "Lesion size (mm)", 3, 40, None, 0.5, "largest diameter"),
    ParamSpec("margin", "Margin", choices=MARGINS, help="BI-RADS margin descriptor"),
    ParamSpec("orientation", "Orientation", choices=("parallel", "not parallel"),
              help="parallel = wider than tall; not parallel = taller than wide (suspicious)"),
    ParamSpec("posterior", "Posterior features", choices=tuple(POSTERIOR),
              help="enhancement behind cysts, shadowing behind many cancers"),
    ParamSpec("speckle", "Speckle", 0, 1, None, 0.05, "0 smooth ... 1 fully developed speckle"),
    ParamSpec("field_mm", "Field of view (mm)", 20, 60, None, 1, "width and depth of the image"),
)


def _descriptors(rng: np.random.Generator, finding: str, d: float) -> dict:
    """BI-RADS descriptors typical of a finding; ``d`` blurs them towards the other class."""
    if finding == "normal":
        return {}
    p_typical = 0.97 - 0.3 * d
    typical = lambda: rng.random() < p_typical  # noqa: E731
    if finding == "malignant":
        margin = rng.choice(["spiculated", "angular", "indistinct"]) if typical() else "circumscribed"
        orient = "not parallel" if typical() else "parallel"
        post = "shadowing" if typical() else str(rng.choice(["none", "enhancement"]))
        size = rng.uniform(8, 25)
    else:
        margin = "circumscribed" if typical() else str(rng.choice(["indistinct", "angular"]))
        orient = "parallel" if typical() else "not parallel"
        post = ("enhancement" if finding == "cyst" else "none") if typical() else "shadowing"
        size = rng.uniform(5, 15) if finding == "cyst" else rng.uniform(8, 25)
    return {"margin": str(margin), "orientation": orient, "posterior": post,
            "lesion_size_mm": float(size * (1.15 - 0.35 * d))}


def _layers(rng, shape, mm) -> tuple[np.ndarray, np.ndarray]:
    """Reflectivity ``(H, W)`` of the breast layers and the depth (mm) of the gland centre."""
    h, w = shape
    depth = (np.arange(h, dtype=np.float32) * mm)[:, None]

    def boundary(mean, wobble):
        return mean + wobble * C.smooth_noise(rng, (1, w), 12.0 / mm)[0][None, :] * 0.5

    skin = rng.uniform(1.5, 2.5)
    fat_end = boundary(rng.uniform(5, 11), 1.5)
    gland_end = fat_end + boundary(rng.uniform(9, 16), 2.5)
    muscle_start = gland_end + rng.uniform(1, 3)
    muscle_end = muscle_start + rng.uniform(7, 12)
    lig = C.smooth_noise(rng, shape, 1.5 / mm, aspect=2.5)
    septa = np.exp(-(lig / 0.1) ** 2)  # zero crossings: curved Cooper's ligaments
    fat = 0.02 * (1 + 0.6 * C.smooth_noise(rng, shape, 2.0 / mm, 1.5) ** 2) + 0.9 * septa
    streaks = 0.7 * C.smooth_noise(rng, shape, 0.4 / mm, 3.0) + C.smooth_noise(rng, shape, 1.2 / mm, 2.5)
    gland = 0.4 * np.exp(0.9 * streaks)
    fibres = C.smooth_noise(rng, shape, 0.4 / mm, aspect=8.0)
    muscle = 0.03 + 0.5 * np.exp(-(fibres / 0.15) ** 2)
    soft = lambda edge: np.clip((depth - edge) / 0.8 + 0.5, 0, 1)  # noqa: E731
    refl = fat
    refl = refl + (gland - refl) * soft(fat_end)
    refl = refl + (fat - refl) * soft(muscle_start - 1.2)
    refl = refl + (muscle - refl) * soft(muscle_start)
    refl = refl + (0.01 - refl) * soft(muscle_end)  # chest wall below
    refl = np.where(depth < skin, 0.3, refl) + 4.0 * np.exp(-((depth - 0.3) / 0.3) ** 2)
    return refl.astype(np.float32), float(np.mean(fat_end + gland_end) / 2)


def _lesion(rng, shape, mm, finding, desc, centre_mm, d) -> tuple[np.ndarray, dict]:
    """Soft lesion coverage ``(H, W)`` in [0, 1] (plus halo/capsule info) from descriptors."""
    size = desc["lesion_size_mm"] / mm
    aspect = rng.uniform(1.3, 1.9) if desc["orientation"] == "parallel" else rng.uniform(0.7, 0.95)
    rx, ry = size / 2, size / 2 / aspect
    if ry > rx:
        rx, ry = rx * aspect, ry * aspect  # keep the largest diameter at lesion_size_mm
    margin = desc["margin"]
    irregular = {"circumscribed": 0.04, "indistinct": 0.12, "angular": 0.3, "spiculated": 0.18}[margin]
    amps, phases = C.contour_harmonics(rng, 1, irregular, 8 if margin == "angular" else 5,
                                       decay=0.6 if margin == "angular" else 1.2)
    centre = np.asarray(centre_mm) / mm
    field = C.blob_field(shape, centre, ry, rx, rng.normal(0, 0.15), amps[0], phases[0])
    if margin == "spiculated":
        yy, xx = np.ogrid[: shape[0], : shape[1]]
        theta = np.arctan2(yy - centre[0], xx - centre[1])[..., None]
        spikes = rng.uniform(-np.pi, np.pi, 14)
        dtheta = np.angle(np.exp(1j * (theta - spikes)))
        field = field / (1 + np.sum(rng.uniform(0.3, 0.8, 14) * np.exp(-(dtheta / 0.06) ** 2), -1))
    edge_px = {"circumscribed": 0.3, "indistinct": 1.5, "angular": 0.5, "spiculated": 0.6}[margin] / mm
    cover = np.clip((1 - field) * min(rx, ry) / max(edge_px, 0.5) + 0.5, 0, 1).astype(np.float32)
    return cover, {"rx_mm": float(rx * mm), "ry_mm": float(ry * mm)}


def make(rng: np.random.Generator, difficulty: float, size: int, **p) -> Phantom:
    """One B-mode image ``(size, size)`` uint8 with its label (1 malignant) and lesion mask."""
    d = difficulty
    drawn = str(rng.choice(FINDINGS, p=[0.15, 0.2, 0.25, 0.4]))  # drawn always: stable random streams
    finding = p.get("finding") or drawn
    desc = _descriptors(rng, finding, d)
    desc.update({k: p[k] for k in ("lesion_size_mm", "margin", "orientation", "posterior")
                 if p.get(k) is not None and finding != "normal"})
    field_mm, spk = float(rng.uniform(30, 45)), float(rng.uniform(0.55, 0.85))
    field_mm = float(p["field_mm"]) if p.get("field_mm") is not None else field_mm
    spk = float(p["speckle"]) if p.get("speckle") is not None else spk
    shape, mm = (size, size), field_mm / size
    refl, gland_mm = _layers(rng, shape, mm)
    atten = np.full(shape, TISSUE_ATTENUATION, np.float32)
    mask = np.zeros(shape, np.uint8)
    params = {"finding": finding, "field_mm": field_mm, "speckle": spk, **desc}
    if finding != "normal":
        half = desc["lesion_size_mm"] / 2
        cy = float(np.clip(gland_mm + rng.normal(0, 2), half * 0.7 + 4, field_mm * 0.75))
        cx = float(rng.uniform(0.3, 0.7) * field_mm)
        cover, geo = _lesion(rng, shape, mm, finding, desc, (cy, cx), d)
        contrast = 1 - 0.35 * d
        echo = {"cyst": 0.0003 + 0.004 * d, "fibroadenoma": 0.03, "malignant": 0.01}[finding]
        texture = (0.9 if finding == "malignant" else 0.3) * C.smooth_noise(rng, shape, 0.8 / mm)
        inside = refl ** (1 - contrast) * (echo * np.exp(texture)) ** contrast  # mix in the log domain
        refl = refl * (1 - cover) + inside * cover
        if finding == "cyst" or (finding == "fibroadenoma" and rng.random() < 0.5):
            ring = cover * (1 - cover) * 4  # thin echogenic capsule
            refl += 0.8 * ring
        atten = atten + cover * (POSTERIOR[desc["posterior"]] - TISSUE_ATTENUATION)
        mask[cover > 0.5] = 1
        params.update({"center_mm": [round(cy, 3), round(cx, 3)], **{k: round(v, 3) for k, v in geo.items()}})
    psf = (0.15 / mm, 0.4 / mm)  # axial, lateral: a 7-10 MHz linear probe
    env = C.speckle(rng, shape, *psf, refl)
    if spk < 1:
        smooth = np.sqrt(ndi.gaussian_filter(refl, psf))
        env = spk * env + (1 - spk) * smooth
    loss = np.cumsum(atten, axis=0) * mm
    depth = (np.arange(size, dtype=np.float32) * mm)[:, None]
    env = env * np.exp(-loss + 0.8 * TISSUE_ATTENUATION * depth)  # TGC corrects 80 % of the loss
    db = 20 * np.log10(env + 1e-4)
    dyn = 48.0 - 6 * d  # display dynamic range in dB; reflectivity 1 maps to grey 190
    grey = (db / dyn + 0.745) * 255
    grey += rng.normal(0, 2 + 4 * d, shape).astype(np.float32)  # electronic noise
    image = MedImage(C.to_uint8(grey), spacing=(mm, mm), modality="US", window=Window(127.5, 255, "full"),
                     source="phantom:breast", format="phantom")
    return Phantom(image, int(finding == "malignant"), mask, params)


register_generator("breast", make, PARAMS, default_size=128)
