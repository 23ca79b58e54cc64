"""Large photographs at full resolution: train on random tiles, answer by sliding windows.

A retinal vessel is 2-12 pixels wide in a 999 x 960 CHASE_DB1 photograph; shrunk to a
network's usual 128 px it would vanish. A segmenter with ``Preprocessing.tile`` set
(``Recipe.tile``) therefore:

* trains on random ``tile`` x ``tile`` crops of each image at its full working resolution
  (:class:`TileDataset`: MONAI ``RandSpatialCropd`` before the case's flips), so many
  crops per photograph fit a CPU batch; an epoch draws as many crops per photograph as
  cover it once (:func:`tiles_per_image`);
* answers the whole image by overlapping windows of the same size whose outputs are
  blended with Gaussian weights (:func:`tiled_logits`, MONAI ``sliding_window_inference``),
  so every pixel is predicted with the context a training crop gave it.

Any 2D segmenter of large photographs uses these two (vessels on CHASE_DB1, hard exudates
on IDRiD); :mod:`medlearn.predict` calls :func:`tiled_logits` for every model whose card
says ``tile``. Both are thin wrappers over MONAI, nothing is re-implemented here.
"""

from __future__ import annotations

import math

import torch

from medlearn.errors import MedlearnInputError
from medlearn.train.data import ArrayDataset

OVERLAP = 0.25  # share of a window that overlaps its neighbour (MONAI's default)
WINDOWS_PER_PASS = 8  # windows stacked into one forward pass


def tiled_logits(model: torch.nn.Module, x: torch.Tensor, tile: int, overlap: float = OVERLAP,
                 windows_per_pass: int = WINDOWS_PER_PASS) -> torch.Tensor:
    """Segmentation logits ``(B, K, H, W)`` of a whole image batch ``x`` ``(B, C, H, W)`` from
    overlapping ``tile`` x ``tile`` windows (MONAI ``sliding_window_inference``, Gaussian
    blending, so window seams do not show). An image smaller than a tile is padded to one.

    Callers hold the model's lock and ``torch.inference_mode`` as for any forward pass.

    Raises:
        MedlearnInputError: not a 2D batch, or a tile below 8 px.
    """
    from monai.inferers import sliding_window_inference

    if x.ndim != 4:
        raise MedlearnInputError(f"Tiled prediction reads 2D batches (B, C, H, W), not {tuple(x.shape)}.")
    if int(tile) < 8:
        raise MedlearnInputError(f"Tiles of {tile} px are too small; use at least 8 px.")
    out = sliding_window_inference(x, roi_size=(int(tile), int(tile)), sw_batch_size=int(windows_per_pass),
                                   predictor=model, overlap=overlap, mode="gaussian")
    return torch.as_tensor(out).as_subclass(torch.Tensor)  # a plain tensor, not MONAI's MetaTensor


def tiles_per_image(spatial: tuple[int, ...], tile: int) -> int:
    """How many random crops of a ``spatial`` image an epoch draws: as many as cover it once."""
    return max(1, math.ceil(math.prod(spatial) / float(tile) ** len(spatial)))


class TileDataset(ArrayDataset):
    """The training set seen through random ``tile`` x ``tile`` crops.

    Item ``i`` is a fresh random crop (image and mask alike) of image ``i % N``, then the
    dataset's own augmentation; ``len`` is ``N x`` :func:`tiles_per_image`, so one epoch
    covers each photograph's area about once. ``images`` stay whole (the standardisation
    statistics and the familiarity bank read whole images, as prediction sees them).
    """

    def __init__(self, data: ArrayDataset, tile: int, seed: int = 0):
        from monai.transforms import Compose, RandSpatialCropd

        if data.targets.ndim < 3:
            raise MedlearnInputError("Training on tiles is for segmentation: crops need masks to follow.")
        spatial = tuple(data.images.shape[2:])
        if any(s < tile for s in spatial):
            raise MedlearnInputError(f"Tiles of {tile} px do not fit images of {spatial} px; use a smaller "
                                     "tile or a larger input size.")
        crop = RandSpatialCropd(["image", "mask"], roi_size=(int(tile),) * len(spatial), random_size=False)
        steps = [crop] + ([data.augment] if data.augment is not None else [])
        super().__init__(data.images, data.targets, data.ids, data.spacing,
                         Compose(steps).set_random_state(seed), data.pre)
        self.tile, self.per_image = int(tile), tiles_per_image(spatial, int(tile))

    def __len__(self) -> int:
        return len(self.images) * self.per_image

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        return super().__getitem__(i % len(self.images))
