"""Tiles: random crops that keep image and mask aligned, sliding windows over a whole image."""

import numpy as np
import pytest
import torch

from medlearn.errors import MedlearnInputError
from medlearn import tiling
from medlearn.tiling import TileDataset, fits_whole, tiled_logits, tiles_per_image, whole_image_logits
from medlearn.train.data import ArrayDataset, make_augmentation


def _dataset(n=2, size=40, augment=None) -> ArrayDataset:
    """Images whose every channel holds the row index plus 100 x the item: a crop tells where it came from."""
    rows = torch.arange(size, dtype=torch.float32)[:, None].expand(size, size)
    images = torch.stack([(rows + 100 * i).expand(3, size, size) for i in range(n)]).contiguous()
    targets = torch.stack([(rows.long() + 100 * i) for i in range(n)])
    return ArrayDataset(images, targets, [f"item{i}" for i in range(n)], (1.0, 1.0), augment)


def test_tiles_follow_their_masks_and_cover_each_image_once_per_epoch():
    data = TileDataset(_dataset(), tile=16, seed=3)
    assert data.per_image == tiles_per_image((40, 40), 16) == 7 and len(data) == 14
    seen = set()
    for i in range(len(data)):
        x, y = data[i]
        assert x.shape == (3, 16, 16) and y.shape == (16, 16) and y.dtype == torch.long
        assert torch.equal(x[0].long(), y)  # the crop of the image is the crop of the mask
        assert int(y[0, 0]) // 100 == i % 2  # item i is a crop of image i mod N
        seen.add(int(y[0, 0]) % 100)
    assert len(seen) > 3  # random offsets, not one fixed box
    with pytest.raises(IndexError):
        data[len(data)]


def test_tiles_then_the_case_augmentation():
    flips = make_augmentation(2, True, "OP", seed=0)
    data = TileDataset(_dataset(augment=flips), tile=16, seed=0)
    for i in range(6):
        x, y = data[i]
        assert torch.equal(x[0].long(), y)  # flips and turns move image and mask together


def test_tiles_refused_when_they_do_not_fit_or_for_classification():
    with pytest.raises(MedlearnInputError, match="do not fit"):
        TileDataset(_dataset(size=12), tile=16)
    labels = ArrayDataset(torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.long), ["a", "b"])
    with pytest.raises(MedlearnInputError, match="segmentation"):
        TileDataset(labels, tile=16)


def test_sliding_windows_equal_one_pass_for_a_pixelwise_model():
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 2, 1).eval()  # no context: every window agrees with the whole image
    x = torch.randn(2, 3, 70, 53)  # not a multiple of the tile: edges and padding handled
    with torch.inference_mode():
        tiled, whole = tiled_logits(model, x, tile=32), model(x)
    assert tiled.shape == whole.shape and type(tiled) is torch.Tensor
    assert torch.allclose(tiled, whole, atol=1e-5)
    small = torch.randn(1, 3, 20, 20)  # smaller than one tile: padded, then cropped back
    with torch.inference_mode():
        assert tiled_logits(model, small, tile=32).shape == (1, 2, 20, 20)


def test_sliding_windows_need_a_2d_batch_and_a_real_tile():
    model = torch.nn.Conv2d(3, 2, 1)
    with pytest.raises(MedlearnInputError, match="2D"):
        tiled_logits(model, torch.zeros(1, 3, 8, 8, 8), tile=16)
    with pytest.raises(MedlearnInputError, match="too small"):
        tiled_logits(model, torch.zeros(1, 3, 32, 32), tile=4)
    assert np.isclose(tiles_per_image((960, 960), 128), 57)


def test_one_pass_up_to_a_megapixel_windows_beyond(monkeypatch):
    assert fits_whole(torch.zeros(1, 3, 960, 960)) and fits_whole(torch.zeros(1, 3, 1024, 1024))
    assert not fits_whole(torch.zeros(1, 3, 1025, 1024)) and not fits_whole(torch.zeros(1, 3, 8, 8, 8))
    calls = []

    class Counting(torch.nn.Conv2d):
        def forward(self, x):
            calls.append(tuple(x.shape[-2:]))
            return super().forward(x)

    model = Counting(3, 2, 1).eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.inference_mode():
        whole = whole_image_logits(model, x, tile=32)
        assert calls == [(64, 48)]  # one pass over the whole image
        monkeypatch.setattr(tiling, "WHOLE_PIXELS", 32 * 32)
        windows = whole_image_logits(model, x, tile=32)
    assert len(calls) > 1 and set(calls[1:]) == {(32, 32)}  # beyond the budget: windows of the tile
    assert torch.allclose(whole, windows, atol=1e-5)
