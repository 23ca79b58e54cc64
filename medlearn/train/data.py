"""Torch datasets from MedLearn samples or phantoms: split, resample, normalise, augment.

Input items are :class:`~medlearn.data.sources.Sample` (``id, image, label, mask, meta``)
or :class:`~medlearn.data.phantoms.Phantom` (the same minus ``id``). Every item becomes
``(image (C, *spatial) float32, target)`` with the target a class index
(classification) or a label map ``(*spatial)`` (segmentation), through the one input
pipeline of :mod:`medlearn.preprocess` (the predictor runs the same functions with the
same :class:`~medlearn.preprocess.Preprocessing`, stored in the model card):

* :func:`medlearn.preprocess.model_array`: enhancement, colour, the case's intensity rule;
* 3D case, 2D model: axial slices; classification takes the central slice, segmentation
  every slice with foreground plus about one background slice for every four of those
  (``every_slice=True``, for validation sets: all slices, so a volume is scored whole);
* partial labels: an item whose ``meta["labelled"]`` omits classes (a Sunnybrook frame
  without an epicardial contour) marks its unlabelled pixels
  :data:`~medlearn.metrics.UNLABELLED`, so the loss and the scores never read them as background;
* :func:`medlearn.preprocess.resize` to ``input_size`` (masks: nearest);
* :func:`standardise` (training runs): per-channel zero mean, unit variance with the
  training set's statistics, recorded in ``Preprocessing.norm``.

The split is made per patient (``meta["patient"]``) or else per item (per volume, before
slicing), so no patient leaks from training into validation, by a hash of the seed and
the group's key: every architecture in a race gets the same split.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from medlearn.data.sources.base import undrawn_classes
from medlearn.errors import MedlearnInputError
from medlearn.metrics import scoring_truth
from medlearn.preprocess import Preprocessing, crop_box, model_array, norm_of, resize
from medlearn.preprocess import crop as crop_array
from medlearn.preprocess import standardise as apply_norm
from medlearn.train.enhancement import check_enhance

# Modalities without a canonical orientation, where 90-degree rotations are fair
# augmentation (a breast ultrasound has a "taller-than-wide" meaning; a slide does not).
ROTATION_FREE_MODALITIES = frozenset({"OP", "SM", "XC"})


def item_id(item, index: int) -> str:
    """A sample's id, or ``"item-INDEX"`` for phantoms (which have none)."""
    return str(getattr(item, "id", None) or f"item-{index}")


def group_of(item, index: int) -> str:
    """The item's patient (``meta["patient"]``) when a source knows it, else its own id."""
    patient = (getattr(item, "meta", None) or {}).get("patient")
    return f"patient:{patient}" if patient else item_id(item, index)


def split_items(items: Sequence, n_val: int, seed: int = 0, fold: tuple[int, int] | None = None
                ) -> tuple[list, list]:
    """Split into ``(train, val)`` with about ``n_val`` items in validation.

    Whole groups (a patient's images when the source names patients, else single items)
    go to validation in the order of a hash of ``seed`` and the group key, until at least
    ``n_val`` items are held out (independent of architecture and of input order), so
    no patient is on both sides.

    ``fold=(k, K)`` (cross-validation) ignores ``n_val``: the groups, in the same hash
    order, are dealt into ``K`` folds (each to the fold with the fewest items so far), and
    fold ``k`` (0-based) is held out; the ``K`` folds' validation sets partition the items.
    """
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(group_of(it, i), []).append(i)
    order = [key for _, key in sorted((hashlib.sha256(f"{seed}:{k}".encode()).hexdigest(), k) for k in groups)]
    val: list[int] = []
    if fold is not None:
        k, n_folds = fold
        if not (2 <= n_folds <= len(groups) and 0 <= k < n_folds):
            raise MedlearnInputError(f"Fold {k + 1} of {n_folds} is impossible with {len(groups)} patients/items; "
                                     f"use 2 to {len(groups)} folds.")
        sizes = [0] * n_folds
        for key in order:
            target = sizes.index(min(sizes))
            sizes[target] += len(groups[key])
            if target == k:
                val += groups[key]
    else:
        if not 0 <= n_val < len(items):
            raise MedlearnInputError(f"Cannot hold out {n_val} of {len(items)} items for validation; "
                                     "load more data or lower the validation size.")
        for key in order:
            if len(val) >= n_val:
                break
            val += groups[key]
        if len(val) >= len(items) and n_val:
            raise MedlearnInputError(f"All {len(groups)} patients would be needed for {n_val} validation items; "
                                     "lower the validation size.")
    val_set = set(val)
    return [items[i] for i in range(len(items)) if i not in val_set], [items[i] for i in sorted(val)]


def training_share(items: Sequence, fraction: float = 1.0, label_noise: float = 0.0, num_classes: int = 2,
                   seed: int = 0) -> list:
    """The training items a plan uses (its ``train_fraction`` and ``label_noise``): first
    :func:`keep_fraction`, then :func:`flip_labels` on what is kept. Defaults: ``items`` unchanged.
    Overfitting lesson: fewer images and wrong labels let a network memorise its training set."""
    kept = keep_fraction(items, fraction, seed)
    return flip_labels(kept, label_noise, num_classes, seed) if label_noise else kept


def keep_fraction(items: Sequence, fraction: float, seed: int = 0) -> list:
    """About ``fraction`` of ``items``, whole patients (groups of :func:`group_of`) at a time.

    Groups are taken in the order of a hash of the seed and the group key (another salt
    than :func:`split_items`, so the share does not follow the split's order) until at
    least ``round(fraction * len(items))`` items are kept; a smaller fraction keeps a
    subset of a larger one. Raises :class:`MedlearnInputError` below two images."""
    items = list(items)
    if fraction >= 1.0:
        return items
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(group_of(it, i), []).append(i)
    order = sorted(groups, key=lambda k: hashlib.sha256(f"share:{seed}:{k}".encode()).hexdigest())
    target, kept = max(1, round(fraction * len(items))), []
    for key in order:
        if len(kept) >= target:
            break
        kept += groups[key]
    if len(kept) < 2:
        raise MedlearnInputError(f"{fraction:.0%} of {len(items)} training items leaves {len(kept)}; a network "
                                 "needs at least 2 to train. Raise the fraction or the training images.")
    return [items[i] for i in sorted(kept)]


def flip_labels(items: Sequence, share: float, num_classes: int, seed: int = 0) -> list:
    """Copies of ``items`` with ``round(share * len(items))`` labels flipped to another class.

    The flipped items are drawn with ``seed``; each takes one of the other classes with
    equal chance (uniform label noise). The originals are untouched; a flipped copy with
    ``meta`` records its true label there (``meta["true_label"]``)."""
    from dataclasses import replace

    items = list(items)
    n_flip = round(share * len(items))
    if not n_flip:
        return items
    if num_classes < 2:
        raise MedlearnInputError("Label noise needs at least two classes to flip between.")
    rng = np.random.default_rng([seed, 14])
    if any(it.label is None for it in items):
        raise MedlearnInputError("Label noise flips class labels; every training item needs one.")
    for i in sorted(rng.choice(len(items), size=n_flip, replace=False).tolist()):
        item, old = items[i], int(items[i].label)
        new = (old + int(rng.integers(1, num_classes))) % num_classes
        extra = {"meta": {**item.meta, "true_label": old}} if isinstance(getattr(item, "meta", None), dict) else {}
        items[i] = replace(item, label=new, **extra)
    return items


class ArrayDataset(Dataset):
    """Prepared tensors in memory with optional MONAI augmentation per item.

    Attributes:
        images: ``(N, C, *spatial)`` float32.
        targets: ``(N,)`` long class indices or ``(N, *spatial)`` long label maps.
        ids: one id per row (``"volume/z12"`` for slices of a volume).
        spacing: typical voxel size in mm after resampling (for HD95 in mm).
        pre: the :class:`~medlearn.preprocess.Preprocessing` that made ``images`` (its
            ``norm`` is set once :func:`standardise` ran).
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, ids: list[str],
                 spacing: tuple[float, ...] | None = None, augment=None, pre: Preprocessing | None = None):
        self.images, self.targets, self.ids = images, targets, ids
        self.spacing, self.augment, self.pre = spacing, augment, pre

    @property
    def norm(self) -> dict | None:
        return self.pre.norm if self.pre is not None else None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x, y = self.images[i], self.targets[i]
        if self.augment is None:
            return x, y
        segment = y.ndim > 0
        out = self.augment({"image": x, "mask": y[None]} if segment else {"image": x})
        x = torch.as_tensor(out["image"]).as_subclass(torch.Tensor).contiguous()
        if not segment:
            return x, y
        return x, torch.as_tensor(out["mask"]).as_subclass(torch.Tensor)[0].contiguous()


def standardise(train: ArrayDataset, *others: ArrayDataset) -> dict:
    """Per-channel zero mean, unit variance with ``train``'s statistics, in place on every set.

    Windowed [0, 1] inputs can sit in a narrow band (a fundus photo's blue channel has a
    standard deviation near 0.09): unscaled, BatchNorm's running statistics lag the
    training batches and the evaluated network collapses to one class. Returns
    ``{"mean": [C floats], "std": [C floats]}``, also recorded in each set's ``pre.norm``
    (the predictor applies it with the same :func:`medlearn.preprocess.standardise`).
    """
    from dataclasses import replace

    norm = norm_of(train.images)
    for data in (train, *others):
        data.images = apply_norm(data.images, norm)
        data.pre = replace(data.pre, norm=norm) if data.pre is not None else None
    return norm


def make_augmentation(spatial_dims: int, segmentation: bool, modality: str, seed: int = 0, strong: bool = False):
    """Random left-right flips (and 90-degree in-plane turns where orientation carries no meaning);
    ``strong`` adds small in-plane rotations (up to 15 degrees) and zooms (up to 10 %) and
    intensity changes (contrast and brightness up to 10 % of the standardised range): the
    variety a small real set lacks (masks follow the geometry, nearest-neighbour)."""
    from monai.transforms import (  # slow import: only when needed
        Compose, RandAffined, RandFlipd, RandRotate90d, RandScaleIntensityd, RandShiftIntensityd)

    keys = ["image", "mask"] if segmentation else ["image"]
    plane = (spatial_dims - 2, spatial_dims - 1)
    steps = [RandFlipd(keys, prob=0.5, spatial_axis=spatial_dims - 1)]
    if modality in ROTATION_FREE_MODALITIES:
        steps.append(RandRotate90d(keys, prob=0.5, spatial_axes=plane))
    if strong:
        angle = np.deg2rad(15)
        rotate = (angle,) if spatial_dims == 2 else (0.0, 0.0, angle)  # in-plane only for volumes
        steps += [RandAffined(keys, prob=0.5, rotate_range=rotate, scale_range=(0.1,) * spatial_dims,
                              mode=["bilinear", "nearest"][:len(keys)], padding_mode="border"),
                  RandScaleIntensityd(["image"], factors=0.1, prob=0.5),
                  RandShiftIntensityd(["image"], offsets=0.1, prob=0.5)]
    return Compose(steps).set_random_state(seed)


def preprocessing_for(case, input_size: int | None, model_dims: int, enhance: str | None = None,
                      enhance_params: dict | None = None, crop: float | None = None,
                      tile: int | None = None) -> Preprocessing:
    """The :class:`~medlearn.preprocess.Preprocessing` a model of ``case`` trains with (before
    :func:`standardise` adds the statistics): the case's channels and intensity rule. ``tile``
    is kept for a 2D segmenter whose images are larger than a tile (see :mod:`medlearn.tiling`)."""
    enhance, enhance_params = check_enhance(enhance, enhance_params)
    tiled = tile and case.task.is_segmentation and model_dims == 2 and (input_size is None or tile < input_size)
    return Preprocessing(in_channels=case.task.in_channels, spatial_dims=model_dims, input_size=input_size,
                         intensity=case.intensity, enhance=enhance, enhance_params=enhance_params, crop=crop,
                         tile=int(tile) if tiled else None)


def make_dataset(items: Sequence, case, input_size: int | None, model_dims: int, augment: bool | str = False,
                 seed: int = 0, enhance: str | None = None, enhance_params: dict | None = None,
                 every_slice: bool = False, crop: float | None = None, tile: int | None = None) -> ArrayDataset:
    """Prepare ``items`` for a model working in ``model_dims`` dimensions (see module doc).

    ``enhance`` (``"ace"``, ``"clahe"`` or None) with ``enhance_params`` (keywords of
    :func:`medlearn.enhance.ace` / :func:`~medlearn.enhance.clahe`) is applied to each image first.
    ``every_slice``: a 2D segmenter of volumes gets all their slices, not a sample (a
    validation set, scored per volume as a 3D model is: see ``medlearn.train.recorder``).
    ``tile``: recorded in ``pre`` (whole images here; :class:`medlearn.tiling.TileDataset`
    crops a training set).
    """
    task = case.task
    pre = preprocessing_for(case, input_size, model_dims, enhance, enhance_params, crop, tile)
    if model_dims not in task.model_dims:
        raise MedlearnInputError(f"A {model_dims}D model does not fit the {case.title} case "
                                 f"(it takes {' or '.join(f'{d}D' for d in task.model_dims)} models).")
    images, targets, ids, spacings = [], [], [], []
    for index, item in enumerate(items):
        for name, x, y, spacing in _rows(item, pre, item_id(item, index), task, model_dims, every_slice):
            x, y, spacing = _resize(x, y, spacing, input_size)
            images.append(x), targets.append(y), ids.append(name), spacings.append(spacing)
    if not images:
        raise MedlearnInputError(f"No usable images for {case.title}.")
    shapes = {tuple(x.shape) for x in images}
    if len(shapes) > 1:
        raise MedlearnInputError(
            f"Images have different sizes {sorted(shapes)[:3]}...; choose an input size.")
    aug = make_augmentation(model_dims, task.is_segmentation, case.modality, seed,
                            strong=augment == "strong") if augment else None
    spacing = tuple(float(s) for s in np.median(np.array(spacings), axis=0))
    targets = torch.as_tensor(np.stack(targets), dtype=torch.long)
    return ArrayDataset(torch.from_numpy(np.stack(images)), targets, ids, spacing, aug, pre)


def _rows(item, pre: Preprocessing, name: str, task, model_dims: int, every_slice: bool = False):
    """Yield ``(id, image (C, *spatial), target, spacing)`` for one item (slices for 3D->2D)."""
    image = item.image
    x = model_array(image, pre)
    if task.is_segmentation:
        if item.mask is None:
            raise MedlearnInputError(f"Item {name} has no mask; segmentation needs one for every image.")
        y = np.asarray(item.mask)
        if y.shape != tuple(image.spatial_shape):
            raise MedlearnInputError(f"Mask of {name} is {y.shape} but the image is {image.spatial_shape}.")
        if y.min() < 0 or y.max() >= task.num_classes:
            raise MedlearnInputError(f"Mask of {name} has values outside 0..{task.num_classes - 1}.")
        y = crop_array(y, crop_box(y.shape, pre.crop)).astype(np.int64)  # the image's own box
        # partial labels: pixels of an undrawn class are "not drawn", not background
        y = scoring_truth(y, undrawn_classes(item, task.num_classes))
    else:
        if item.label is None or not 0 <= int(item.label) < task.num_classes:
            raise MedlearnInputError(
                f"Item {name} has label {item.label!r}; expected 0..{task.num_classes - 1}.")
        y = np.int64(item.label)
    spacing = tuple(image.spacing)
    if image.spatial_dims == model_dims:
        yield name, x, y, spacing
        return
    if image.spatial_dims == 2:
        raise MedlearnInputError(f"Item {name} is a 2D image; a 3D model needs volumes.")
    seg = task.is_segmentation
    for z in range(x.shape[1]) if seg and every_slice else _slice_indices(y if seg else None, x.shape[1]):
        yield slice_id(name, z), x[:, z], (y[z] if task.is_segmentation else y), spacing[1:]


def slice_id(volume: str, z: int) -> str:
    """The row id of slice ``z`` of a volume: ``"volume/z12"``."""
    return f"{volume}/z{z}"


def split_slice_id(row_id: str) -> tuple[str, int] | None:
    """``"volume/z12"`` -> ``("volume", 12)``; None for a row that is not a slice."""
    volume, sep, z = row_id.rpartition("/z")
    return (volume, int(z)) if sep and z.isdigit() else None


def _slice_indices(mask: np.ndarray | None, depth: int) -> list[int]:
    """Central slice (no mask), or every foreground slice plus a quarter as many background ones."""
    if mask is None:
        return [depth // 2]
    has = mask.reshape(depth, -1).any(1)
    fg, bg = np.flatnonzero(has), np.flatnonzero(~has)
    n_bg = min(len(bg), max(1, -(-len(fg) // 4)))
    picks = bg[np.linspace(0, len(bg) - 1, n_bg).round().astype(int)] if n_bg else bg[:0]
    return sorted(int(z) for z in np.concatenate([fg, picks]))


def _resize(x: np.ndarray, y, spacing: tuple[float, ...], size: int | None):
    """Image through :func:`medlearn.preprocess.resize`, mask by MONAI nearest, to ``size`` per axis."""
    spatial = x.shape[1:]
    if size is None or all(s == size for s in spatial):
        return x, y, spacing
    x = resize(x, size, len(spatial))
    if np.ndim(y):
        from monai.transforms import Resize

        y = np.asarray(Resize((size,) * len(spatial), mode="nearest")(y[None])[0]).astype(np.int64)
    return x, y, tuple(sp * s / size for sp, s in zip(spacing, spatial))
