"""Large photographs at full resolution: train on random tiles, answer the whole image.

A retinal vessel is 2-12 pixels wide in a 999 x 960 CHASE_DB1 photograph; shrunk to a
network's usual 128 px it would vanish. A segmenter with ``Preprocessing.tile`` set
(``Recipe.tile``) therefore:

* trains on random ``tile`` x ``tile`` crops of each image at its full working resolution
  (:class:`TileDataset`: MONAI ``RandSpatialCropd`` before the case's flips), so many
  crops per photograph fit a CPU batch; an epoch draws as many crops per photograph as
  cover it once (:func:`tiles_per_image`);
* answers the whole image at that resolution (:func:`whole_image_logits`): in one pass of
  the fully convolutional network when the image has at most :data:`WHOLE_PIXELS` pixels,
  as the trainer validates it, else by overlapping windows of the tile's size whose outputs
  are blended with Gaussian weights (:func:`tiled_logits`, MONAI
  ``sliding_window_inference``), so memory stays bounded.

Why one pass up to a megapixel (measured, ``bench_vessels`` and the fold models of
``scripts/real_results.py``): on this 2-core CPU one pass over a 960 px photograph took
175 ms against 256 ms for its overlapping windows (which read a quarter of the pixels
twice); the Grad-CAM pass that explains the answer is that same pass, so the answer needs
no second forward; and on CHASE_DB1 (10 photographs, leave one child out) the U-Net's AUC
was 0.9647 in one pass against 0.9645 in windows, Dice 0.728 against 0.726 (FCN: AUC
0.9716 / 0.9712); on IDRiD exudates (15 photographs, 3 folds) Dice 0.444 against 0.441.
A Grad-CAM pass over 960 px needs about 0.6 GB (U-Net) to 1.1 GB (FCN) beside the model;
beyond :data:`WHOLE_PIXELS` it would grow past a classroom server's budget.

Any 2D segmenter of large photographs uses these (vessels on CHASE_DB1, hard exudates on
IDRiD); :mod:`medlearn.predict` asks :func:`fits_whole` for every model whose card says
``tile``. Thin wrappers over MONAI, nothing is re-implemented here.
"""

from __future__ import annotations

import math

import torch

from medlearn.errors import MedlearnInputError
from medlearn.train.data import ArrayDataset

OVERLAP = 0.25  # share of a window that overlaps its neighbour (MONAI's default)
WINDOWS_PER_PASS = 8  # windows stacked into one forward pass
WHOLE_PIXELS = 1024 * 1024  # images up to this many pixels are answered in one pass (module doc)


def fits_whole(x: torch.Tensor) -> bool:
    """Whether a 2D batch ``(B, C, H, W)`` is answered in one pass (at most
    :data:`WHOLE_PIXELS` pixels per image) rather than by sliding windows."""
    return x.ndim == 4 and int(x.shape[-2]) * int(x.shape[-1]) <= WHOLE_PIXELS


def whole_image_logits(model: torch.nn.Module, x: torch.Tensor, tile: int) -> torch.Tensor:
    """A tile-trained segmenter's logits ``(B, K, H, W)`` for whole images ``x``: one pass
    when :func:`fits_whole`, else :func:`tiled_logits`. Callers hold the model's lock and
    ``torch.inference_mode``."""
    return model(x) if fits_whole(x) else tiled_logits(model, x, tile)


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
