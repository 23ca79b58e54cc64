"""Realism check: phantoms beside real images, with intensity histograms.

    python scripts/realism.py [--cases retina breast ...] [--n 3] [--out docs/realism]

Real images come from the local mirror ($MEDLEARN_MIRROR: BUSI for breast, LIDC crops
for lung, MSD Task04 for hippocampus, Sunnybrook for heart) or from images that
scikit-image ships (fundus ``retina``/``microaneurysms``; ``immunohistochemistry`` as
a stand-in for H&E, which scikit-image does not ship offline). One PNG per case.
Volumes show their central axial slice. Display mapping: each image's own window
(colour as is), so histograms compare what a student sees (0-255). Like for like where
the real set is preprocessed: lung phantoms are shown as LIDC crops are, the axial
slice through the nodule at 64 voxels (0.7 mm, LIDC's pixel size), cropped 50 x 50
around the nodule and min-max scaled per crop.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from medlearn.data.image import MedImage  # noqa: E402
from medlearn.data.phantoms import generate  # noqa: E402

CASES = ("retina", "breast", "lung", "hippocampus", "heart", "gastric")
SIZES = {"retina": 256, "breast": 256, "gastric": 256, "lung": 64}  # phantom size when --size is not given


def _mirror(*parts: str) -> Path | None:
    root = os.environ.get("MEDLEARN_MIRROR")
    path = Path(root, *parts) if root else None
    return path if path is not None and path.exists() else None


def _grey_u8(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    lo, hi = np.percentile(a, [0.5, 99.5])
    return (np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)


def real_retina(n: int) -> tuple[list[np.ndarray], str]:
    from skimage import data

    full = data.retina()
    crops = [full, full[350:1050, 0:700], full[350:1050, 500:1200]]  # whole, disc, macula
    return crops[:n], "scikit-image retina (CC0): whole, disc, macula"


def real_gastric(n: int) -> tuple[list[np.ndarray], str]:
    from skimage import data

    ihc = data.immunohistochemistry()
    tiles = [ihc[:256, :256], ihc[256:, 256:], ihc[:256, 256:]][:n]
    return tiles, "scikit-image immunohistochemistry (IHC, a stand-in: no H&E ships offline)"


def real_breast(n: int) -> tuple[list[np.ndarray], str]:
    root = _mirror("breast_ultrasound", "busi", "images")
    if root is None:
        return [], "BUSI not in $MEDLEARN_MIRROR"
    names = ["benign (10).png", "malignant (1).png", "normal (1).png", "benign (1).png"]
    return [np.asarray(Image.open(root / f).convert("L")) for f in names if (root / f).exists()][:n], "BUSI"


def real_lung(n: int) -> tuple[list[np.ndarray], str]:
    root = _mirror("lung_nodule_ct", "lidc_crops")
    if root is None:
        return [], "LIDC crops not in $MEDLEARN_MIRROR"
    files = sorted(p for p in root.glob("LIDC-*.png") if p.stem.count("_") == 2)[:n]
    return [np.asarray(Image.open(p).convert("L")) for p in files], "LIDC-IDRI crops (min-max scaled)"


def real_hippocampus(n: int) -> tuple[list[np.ndarray], str]:
    import nibabel as nib

    root = _mirror("hippocampus_mri", "msd_task04", "imagesTr")
    if root is None:
        return [], "MSD Task04 not in $MEDLEARN_MIRROR"
    vols = [np.asarray(nib.load(str(p)).dataobj, np.float32) for p in sorted(root.glob("*.nii.gz"))[:n]]
    return [_grey_u8(v[:, :, v.shape[2] // 2].T) for v in vols], "MSD Task04 Hippocampus (axial slice)"


def real_heart(n: int) -> tuple[list[np.ndarray], str]:
    import pydicom

    root = _mirror("cardiac_lv_mri", "sunnybrook", "dicoms")
    if root is None:
        return [], "Sunnybrook not in $MEDLEARN_MIRROR"
    files = [sorted(d.glob("*.dcm"))[0] for d in sorted(root.iterdir()) if d.is_dir()][:n]
    return [_grey_u8(pydicom.dcmread(str(f)).pixel_array) for f in files], "Sunnybrook cine MRI"


REAL = {"retina": real_retina, "breast": real_breast, "lung": real_lung, "hippocampus": real_hippocampus,
        "heart": real_heart, "gastric": real_gastric}


def lidc_like_crop(ph, side: int = 50) -> np.ndarray:
    """The axial slice through the nodule, ``side`` px around it, min-max scaled (as LIDC crops)."""
    z, y, x = ph.params["center_vox"]
    sl = ph.image.pixels[int(np.clip(z, 0, ph.image.shape[0] - 1))].astype(np.float32)
    h, w = sl.shape
    y0, x0 = int(np.clip(y - side // 2, 0, max(h - side, 0))), int(np.clip(x - side // 2, 0, max(w - side, 0)))
    crop = sl[y0:y0 + side, x0:x0 + side]
    return ((crop - crop.min()) / max(float(np.ptp(crop)), 1e-6) * 255).astype(np.uint8)


def phantom_views(case: str, n: int, size: int | None, seed: int) -> list[np.ndarray]:
    """Display-ready uint8 views of ``n`` phantoms (central axial slice for volumes)."""
    views = []
    for ph in generate(case, n, seed=seed, size=size):
        img: MedImage = ph.image
        if img.is_rgb:
            views.append(img.pixels.astype(np.uint8))
        elif case == "lung":
            views.append(lidc_like_crop(ph))
        else:
            shown = img.windowed()
            views.append((shown[shown.shape[0] // 2] if shown.ndim == 3 else shown) * 255)
    return [v.astype(np.uint8) for v in views]


def _hist(ax, images: list[np.ndarray], style: str, label: str) -> None:
    if not images:
        return
    stack = np.concatenate([im.reshape(-1, im.shape[-1] if im.ndim == 3 else 1) for im in images])
    colours = ("r", "g", "b") if stack.shape[1] == 3 else ("k",)
    for c, col in zip(range(stack.shape[1]), colours):
        h, edges = np.histogram(stack[:, c], bins=64, range=(0, 255), density=True)
        ax.plot(edges[:-1], h, style, color=col, lw=1, label=f"{label}" if c == 0 else None)


def render(case: str, n: int, size: int | None, seed: int, out: Path) -> Path:
    real, note = REAL[case](n)
    fake = phantom_views(case, n, size, seed)
    cols = n + 1
    fig, axes = plt.subplots(2, cols, figsize=(2.2 * cols, 4.6), dpi=72)
    for row, (imgs, title) in enumerate(((real, f"real: {note}"), (fake, "phantom"))):
        for i in range(n):
            ax = axes[row, i]
            ax.axis("off")
            if i < len(imgs):
                im = imgs[i]
                ax.imshow(im, cmap=None if im.ndim == 3 else "gray", vmin=0, vmax=255)
        axes[row, 0].set_title(title, fontsize=7, loc="left")
    ax = axes[0, n]
    _hist(ax, real, "-", "real")
    _hist(ax, fake, "--", "phantom")
    ax.set_title("intensity histograms", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6)
    axes[1, n].axis("off")
    fig.suptitle(f"{case}: real (top) vs phantom (bottom)", fontsize=9)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{case}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    p.add_argument("--n", type=int, default=3, help="images per row (default 3)")
    p.add_argument("--size", type=int, default=None, help="phantom size (default: 256 for 2D, the case's for 3D)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "docs" / "realism"))
    args = p.parse_args(argv)
    for case in args.cases:
        size = args.size or SIZES.get(case)
        path = render(case, args.n, size, args.seed, Path(args.out))
        print(f"{case}: {path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
