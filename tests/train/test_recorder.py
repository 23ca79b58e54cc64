"""The metrics recorder scores a 2D segmenter of volumes per volume, as a 3D model is scored."""

import types

import numpy as np
import pytest
import torch

from medlearn.cases import get_case
from medlearn.data.phantoms import generate
from medlearn.train.data import make_dataset
from medlearn.train.recorder import MetricsCallback, slice_groups


def test_slice_groups_put_each_volumes_slices_in_z_order():
    assert slice_groups(["a/z2", "a/z0", "b/z1"], 3) == [[1, 0], [2]]
    assert slice_groups(["a", "b"], 2) == [] and slice_groups(["a/z1"], 2) == [] and slice_groups(None, 1) == []
    assert slice_groups(["a/zed"], 1) == []


def _recorder(outputs, targets):
    rec = MetricsCallback()
    rec._outputs, rec._targets = [torch.as_tensor(outputs, dtype=torch.uint8)], [torch.as_tensor(targets)]
    return rec


CONFIG = types.SimpleNamespace(is_segmentation=True, is_detection=False, num_classes=2, spacing=(1.0, 1.0), class_names=("bg", "fg"),
                               hd95=False)


def test_an_edge_slice_counts_by_its_size_within_its_volume():
    truth = np.zeros((2, 16, 16), np.int64)
    truth[0, 2:12, 2:12] = 1  # the organ's middle: 100 pixels, found exactly
    truth[1, 5, 5] = 1  # its tip: one pixel, missed
    pred = truth.copy()
    pred[1] = 0
    rec = _recorder(pred, truth)
    per_slice = rec._scores(CONFIG, ["a", "b"])  # two 2D images: scored one by one
    per_volume = _recorder(pred, truth)._scores(CONFIG, ["v/z3", "v/z4"])
    assert per_slice["dice"] == pytest.approx(0.5) and "dice_per_slice" not in per_slice
    assert per_volume["dice"] == pytest.approx(200 / 201) and per_volume["dice_per_slice"] == pytest.approx(0.5)
    assert per_volume["dice_per_class"]["fg"] == pytest.approx(200 / 201) and per_volume["iou"] == pytest.approx(100 / 101)


def test_validation_sets_of_volumes_keep_every_slice():
    case = get_case("hippocampus")
    items = generate("hippocampus", n=2, seed=0, size=32)
    sampled = make_dataset(items, case, 32, 2)
    whole = make_dataset(items, case, 32, 2, every_slice=True)
    assert len(whole) == 2 * 32 > len(sampled)
    assert [i for i in whole.ids if i.startswith(whole.ids[0].split("/")[0])][:3] == [
        f"{whole.ids[0].split('/')[0]}/z{z}" for z in range(3)]
