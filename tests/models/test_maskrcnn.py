"""Mask R-CNN on tiny slices: label maps become instances, one training step through the
trainer's own-loss hook, evaluation logits, empty slices, the instances, Grad-CAM, features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from medlearn.errors import MedlearnInputError
from medlearn.metrics import UNLABELLED
from medlearn.models import get_model, get_spec, list_models
from medlearn.models.instances import Instances, instance_targets, mask_instances
from medlearn.models.segmentation.maskrcnn import semantic_logits

SIZE = 32


def _net(**config):
    return get_model("maskrcnn", in_channels=1, num_classes=3, width=4, input_size=SIZE, **config)


def _slices(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Bright blobs of class 1 (left) and 2 (right) on noise; the last slice is empty."""
    y = torch.zeros(n, SIZE, SIZE, dtype=torch.long)
    y[:, 8:20, 4:12] = 1
    y[:, 10:22, 18:26] = 2
    y[-1] = 0
    x = 0.1 * torch.randn(n, 1, SIZE, SIZE) + (y > 0).float()[:, None]
    return x, y


def test_label_map_to_instances_one_object_per_connected_component():
    mask = np.zeros((10, 12), np.int64)
    mask[1:3, 1:4] = 1  # component A of class 1
    mask[3, 4] = 1  # touches A diagonally: the same object (8-connected)
    mask[6:9, 8:10] = 1  # component B of class 1
    mask[5:7, 0:2] = 2
    mask[0, 11] = UNLABELLED  # not an object
    got = mask_instances(mask, num_classes=3)
    assert got["labels"].tolist() == [1, 1, 2]
    assert got["boxes"].tolist() == [[1, 1, 5, 4], [8, 6, 10, 9], [0, 5, 2, 7]]  # x0, y0, x1 (one past), y1
    assert got["masks"].shape == (3, 10, 12) and got["masks"].dtype == torch.uint8
    assert got["masks"][0].sum() == 7 and got["masks"][1].sum() == 6 and got["masks"][2].sum() == 4
    assert not got["masks"][:, 0, 11].any()
    empty = mask_instances(np.zeros((5, 6), np.int64), 3)
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,) and empty["masks"].shape == (0, 5, 6)
    boxes_only = instance_targets(torch.from_numpy(mask)[None], 3, with_masks=False)
    assert set(boxes_only[0]) == {"boxes", "labels"}
    with pytest.raises(ValueError):
        mask_instances(np.zeros((2, 3, 4)), 3)


def test_registered_as_a_2d_torchvision_segmenter_sized_to_its_input():
    spec = get_spec("maskrcnn")
    assert spec.task == "segmentation" and spec.spatial_dims == (2,) and spec.library == "torchvision"
    assert "maskrcnn" in [s.name for s in list_models("segmentation", 2)]
    net = _net()
    assert net.computes_own_loss
    transform = net.detector.transform
    assert transform.min_size == (SIZE,) and transform.max_size == SIZE  # not torchvision's 800 px
    assert transform.image_mean == [0.0] and transform.image_std == [1.0]  # one channel, no re-normalising
    assert net.detector.backbone.body.conv1.in_channels == 1
    assert get_model("maskrcnn", in_channels=3, num_classes=2, width=4, input_size=48).detector.transform.image_mean \
        == [0.0] * 3


def test_one_training_step_through_the_trainers_own_loss_hook():
    from medlearn.train.config import TrainConfig
    from medlearn.train.trainer import Trainer

    net = _net()
    x, y = _slices(4)
    before = [p.detach().clone() for p in net.parameters()]
    config = TrainConfig(task="segmentation", num_classes=3, epochs=1, batch_size=4, learning_rate=1e-3,
                         class_names=("background", "a", "b"))
    history = Trainer(net, TensorDataset(x, y), TensorDataset(x[:2], y[:2]), config).fit()
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"]) and "dice" in history[0]
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters()))  # the loss trained it
    net.train()
    loss = net(x, y)
    assert loss.dim() == 0 and loss.requires_grad
    with pytest.raises(MedlearnInputError):
        net(x)  # training mode needs the label maps
    with pytest.raises(MedlearnInputError):
        net(x, y[:, :16])


def test_only_empty_slices_train_and_evaluate_to_background():
    net = _net()
    x = torch.randn(3, 1, SIZE, SIZE)
    loss = net.train()(x, torch.zeros(3, SIZE, SIZE, dtype=torch.long))  # negatives only
    loss.backward()
    assert torch.isfinite(loss)
    quiet = _net(score_threshold=0.999).eval()  # a threshold nothing reaches: no detections
    with torch.no_grad():
        logits = quiet(x)
    assert logits.shape == (3, 3, SIZE, SIZE)
    assert torch.allclose(logits[:, 0], torch.zeros(3, SIZE, SIZE))  # log 1: certain background
    assert (logits.argmax(1) == 0).all()
    assert all(len(found) == 0 and found.masks.shape == (0, SIZE, SIZE) for found in quiet.instances(x))


def test_semantic_logits_take_the_best_score_times_mask_per_class():
    masks = torch.zeros(3, 1, 4, 4)
    masks[0, 0, :2, :2] = 0.9  # class 1, score 0.8 -> 0.72
    masks[1, 0, :2, :2] = 0.5  # another class-1 object over it, score 0.6 -> 0.30 (not the max)
    masks[2, 0, 2:, 2:] = 1.0  # class 2, score 0.5 -> 0.5
    scores = torch.tensor([0.8, 0.6, 0.5], requires_grad=True)
    det = {"masks": masks, "scores": scores, "labels": torch.tensor([1, 1, 2])}
    logits = semantic_logits([det], 3, (4, 4), torch.zeros(1))
    probs = logits.exp()[0]
    assert torch.allclose(probs[1, 0, 0], torch.tensor(0.72)) and torch.allclose(probs[0, 0, 0], torch.tensor(0.28))
    assert torch.allclose(probs[2, 3, 3], torch.tensor(0.5)) and torch.allclose(probs[0, 3, 3], torch.tensor(0.5))
    assert torch.allclose(probs[0, 0, 3], torch.tensor(1.0))  # nothing detected there
    assert logits.argmax(1)[0, 0, 0] == 1
    logits[0, 1].sum().backward()
    assert scores.grad[0] > 0 and scores.grad[2] == 0  # differentiable: Grad-CAM can explain it


def test_pasting_inverts_how_torchvision_made_the_mask_targets():
    from torchvision.ops import roi_align

    from medlearn.models.segmentation.maskrcnn import paste_masks

    truth = torch.zeros(SIZE, SIZE, dtype=torch.long)
    truth[5:14, 8:20] = 1
    truth[16:29, 3:11] = 2
    objects = mask_instances(truth, 3)
    rois = torch.cat([torch.arange(2.0)[:, None], objects["boxes"]], 1)
    targets = roi_align(objects["masks"][:, None].float(), rois, (14, 14), 1.0)  # torchvision's mask targets
    pasted = paste_masks(targets, objects["boxes"], (SIZE, SIZE))
    assert pasted.shape == (2, 1, SIZE, SIZE)
    assert torch.equal(pasted[:, 0] >= 0.5, objects["masks"].bool())  # every pixel back where it was
    assert paste_masks(targets[:0], objects["boxes"][:0], (SIZE, SIZE)).shape == (0, 1, SIZE, SIZE)


def test_instances_on_the_input_grid_and_placed_back_on_the_image():
    net = _net(score_threshold=0.0).eval()
    x, _ = _slices(2)
    found = net.instances(x)
    assert len(found) == 2 and all(isinstance(f, Instances) for f in found)
    first = found[0]
    assert first.shape == (SIZE, SIZE) and first.boxes.shape == (len(first), 4)
    assert first.masks.shape == (len(first), SIZE, SIZE) and np.all(np.diff(first.scores) <= 0)  # best first
    assert set(first.labels.tolist()) <= {1, 2}
    inst = Instances(np.array([[4.0, 8.0, 12.0, 16.0]], np.float32), np.array([1]), np.array([0.9], np.float32),
                     np.ones((1, SIZE, SIZE), np.float32), (SIZE, SIZE))
    plane = inst.placed((64, 96))  # the slice was resized 64 x 96 -> 32 x 32
    assert plane.boxes.tolist() == [[12.0, 16.0, 36.0, 32.0]] and plane.masks.shape == (1, 64, 96)
    region = inst.placed((100, 100), (slice(10, 74), slice(20, 84)))  # a central crop of 64 x 64
    assert region.boxes.tolist() == [[28.0, 26.0, 44.0, 42.0]]
    assert region.masks[0, :10].sum() == 0 and region.masks[0, 10:74, 20:84].min() > 0.99
    assert len(inst.above(0.95)) == 0 and len(inst.above(0.5)) == 1


def test_gradcam_and_feature_vectors_are_per_image():
    from medlearn.explain import compute_cam
    from medlearn.ood import FeatureTap

    net = _net(score_threshold=0.0).eval()
    x, _ = _slices(2)
    result = compute_cam(net, x, method="gradcam", task="segmentation", arch="maskrcnn")
    assert result.maps.shape == (2, SIZE, SIZE) and np.isfinite(result.maps).all()
    assert result.logits.shape == (2, 3, SIZE, SIZE)
    assert result.features["last"].shape[0] == 2 and result.features["early"].shape[0] == 2
    with torch.no_grad(), FeatureTap(net) as tap:
        net(x[:1])
    assert tap.features["last"].shape == (1, 4 * 2)  # the pyramid's channels, one vector per image
    assert all(p.grad is None for p in net.parameters())  # the shared model keeps no gradients


def test_the_hippocampus_race_and_gallery_list_it_beside_the_reviews_other_four():
    from medlearn.cases import get_case
    from ui.train.architectures import compatible_models, comparison_rows

    case = get_case("hippocampus")
    assert set(case.recipe.architectures) == {"fcn", "unet", "segnet", "unet3d", "maskrcnn"}  # the review's five
    assert "maskrcnn" in [s.name for s in compatible_models(case)]
    row = next(r for r in comparison_rows(case, ["maskrcnn"]) if r["name"] == "maskrcnn")
    assert row["dims"] == "2D" and row["library"] == "torchvision" and row["parameters"] > 1_000_000
