"""Dataset adapter: split, slicing, channels, resizing, augmentation, errors."""

import numpy as np
import pytest
import torch

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError
from medlearn.train.data import make_dataset, split_items
from train_helpers import blob_items


def test_split_depends_only_on_seed_and_ids():
    items = blob_items(20)
    train, val = split_items(items, 5, seed=3)
    train2, val2 = split_items(items[::-1], 5, seed=3)
    assert {i.id for i in val} == {i.id for i in val2} and len(train) == 15
    assert not {i.id for i in train} & {i.id for i in val}
    assert {i.id for i in split_items(items, 5, seed=4)[1]} != {i.id for i in val}
    with pytest.raises(MedlearnInputError):
        split_items(items, 20)


def test_volume_to_slices_for_2d_models():
    items = blob_items(2, size=8, depth=9)  # foreground on slices 3, 4, 5
    seg = make_dataset(items, get_case("hippocampus"), 8, 2)
    assert len(seg) == 2 * (3 + 1) and seg.ids[0].startswith("s000/z")
    assert (seg.targets.flatten(1).amax(1) > 0).sum() == 6
    cls = make_dataset(items, get_case("lung"), 8, 2)
    assert cls.images.shape == (2, 1, 8, 8) and cls.ids == ["s000/z4", "s001/z4"]
    vol = make_dataset(items, get_case("lung"), 16, 3)
    assert vol.images.shape == (2, 1, 16, 16, 16) and vol.spacing == pytest.approx((9 / 16, 0.5, 0.5))


def test_channels_intensity_and_mask_resizing():
    colour = blob_items(2, size=20, colour=True)
    grey_model = make_dataset(colour, get_case("breast"), 10, 2)       # breast takes 1 channel
    rgb_model = make_dataset(blob_items(2, size=20), get_case("retina"), 10, 2)  # retina takes 3
    assert grey_model.images.shape == (2, 1, 10, 10) and rgb_model.images.shape == (2, 3, 10, 10)
    assert 0.0 <= float(grey_model.images.min()) and float(grey_model.images.max()) <= 1.0
    seg = make_dataset(colour, get_case("gastric"), 10, 2)
    assert set(seg.targets.unique().tolist()) == {0, 1}  # nearest neighbour keeps labels


def test_augmentation_keeps_image_and_mask_aligned():
    items = blob_items(1, size=12, colour=True)
    items[0].mask[:] = 0
    items[0].mask[1:4, 1:4] = 1                       # an off-centre mask ...
    items[0].image.pixels[...] = 0
    items[0].image.pixels[1:4, 1:4] = 255             # ... exactly where the image is bright
    data = make_dataset(items, get_case("gastric"), None, 2, augment=True, seed=0)
    views = set()
    for _ in range(20):
        x, y = data[0]
        assert torch.equal(x[0] > 0.5, y > 0)
        views.add(tuple(y.flatten().tolist()))
    assert len(views) > 1                              # flips/turns did happen


def test_bad_items_raise_typed_errors():
    items = blob_items(2)
    items[0].label = 7
    with pytest.raises(MedlearnInputError, match="label"):
        make_dataset(items, get_case("breast"), 8, 2)
    items = blob_items(2)
    items[1].mask = np.zeros((3, 3), int)
    with pytest.raises(MedlearnInputError, match="Mask"):
        make_dataset(items, get_case("gastric"), 8, 2)
    with pytest.raises(MedlearnInputError, match="3D"):
        make_dataset(blob_items(2), get_case("breast"), 8, 3)
    with pytest.raises(MedlearnInputError, match="sizes"):
        make_dataset(blob_items(1, size=8) + blob_items(1, size=10), get_case("breast"), None, 2)


def test_partial_labels_mark_undrawn_pixels_and_real_recipes_differ_by_source():
    """A frame whose myocardium was not drawn keeps its cavity and marks the rest unlabelled;
    the heart trains on real Sunnybrook frames with its own recipe (region of interest)."""
    from medlearn.data.image import MedImage
    from medlearn.data.sources.base import Sample
    from medlearn.metrics import UNLABELLED
    from medlearn.train.plan import make_plan

    mask = np.zeros((32, 32), np.uint8)
    mask[12:20, 12:20] = 1
    image = MedImage(np.random.default_rng(0).random((32, 32)).astype(np.float32), spacing=(1.0, 1.0), modality="MR")
    items = [Sample("cavity-only", image, None, mask, {"labelled": [0, 1]}),
             Sample("both", image, None, mask, {"labelled": [0, 1, 2]})]
    data = make_dataset(items, get_case("heart"), None, 2)
    partial, full = data.targets
    assert set(partial.unique().tolist()) == {1, UNLABELLED} and set(full.unique().tolist()) == {0, 1}
    heart = get_case("heart")
    real, phantom = make_plan(heart, "unet", "sunnybrook"), make_plan(heart, "unet", "phantoms")
    assert (real.crop, real.input_size, real.epochs, real.learning_rate) == (0.5, 128, 40, 1e-3)
    assert phantom.crop is None and phantom.input_size == heart.recipe.input_size
    assert "crop" not in phantom.to_dict()  # phantom checkpoints keep their names
