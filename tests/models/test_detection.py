"""Box detectors (Faster R-CNN, SSDlite) on tiny slices: training from label maps through the
trainer's own-loss hook, score maps, boxes, the detections cache, Grad-CAM of the top box,
the recorder's FROC, and Predict's boxes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from medlearn.errors import MedlearnInputError
from medlearn.models import get_model, get_spec, list_models
from medlearn.models.detection.base import box_masks

SIZE = 32
DETECTORS = ("faster_rcnn", "ssdlite")


def _net(name: str, **config):
    torch.manual_seed(0)
    return get_model(name, in_channels=1, num_classes=2, width=4, input_size=SIZE, **config)


def _slices(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """A bright square nodule per slice; the last slice is empty (a negative)."""
    y = torch.zeros(n, SIZE, SIZE, dtype=torch.long)
    y[:, 10:18, 12:20] = 1
    y[-1] = 0
    x = 0.1 * torch.randn(n, 1, SIZE, SIZE) + 2.0 * (y > 0).float()[:, None]
    return x, y


def test_detectors_are_registered_for_the_detection_task():
    names = [s.name for s in list_models("detection", 2)]
    assert names == list(DETECTORS)
    assert all(get_spec(n).is_segmentation and get_spec(n).library == "torchvision" for n in names)


def test_box_masks_cover_exactly_the_pixels_of_integer_boxes():
    m = box_masks(torch.tensor([[2.0, 3.0, 5.0, 4.0], [0.4, 0.4, 1.6, 1.6]]), (6, 7))
    assert m.shape == (2, 1, 6, 7)
    assert torch.nonzero(m[0, 0]).tolist() == [[3, 2], [3, 3], [3, 4]]
    assert torch.nonzero(m[1, 0]).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]  # pixel centres 0.5, 1.5 inside


@pytest.mark.parametrize("name", DETECTORS)
def test_training_step_and_score_maps(name):
    net = _net(name)
    x, y = _slices()
    net.train()
    loss = net(x, y)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    with pytest.raises(MedlearnInputError, match="label maps"):
        net(x)
    with pytest.raises(MedlearnInputError, match="do not match"):
        net(x, y[:, :16])
    net.eval()
    with torch.no_grad():
        logits = net(x)
    assert logits.shape == (4, 2, SIZE, SIZE)
    probs = logits.softmax(1)
    found = net.detections(x)
    assert len(found) == 4
    for p, f in zip(probs, found):  # each pixel: the best score of the boxes over it
        if len(f):
            top = f.boxes[0]
            cx, cy = int((top[0] + top[2]) / 2), int((top[1] + top[3]) / 2)
            assert p[1, cy, cx] >= f.scores[0] - 1e-4
        else:
            assert float(p[1].max()) < 1e-4


def test_detections_reuse_the_last_forward(monkeypatch):
    net = _net("faster_rcnn").eval()
    x, _ = _slices()
    calls = []
    original = net.detector.forward
    monkeypatch.setattr(net.detector, "forward", lambda images, targets=None: calls.append(1) or original(images))
    with torch.no_grad():
        net(x)
    assert len(net.detections(x)) == 4 and len(calls) == 1  # the same pass
    row = net.detections_for(x[2:3])  # one image of that batch: its row, no new pass
    assert len(calls) == 1 and np.array_equal(row.scores, net.detections(x)[2].scores)
    net.detections_for(x[2:3] + 1.0)  # an image the last pass did not see: a new pass
    assert len(calls) == 2


def test_the_detector_learns_where_the_nodule_is():
    from medlearn.froc import match_instances

    net = _net("faster_rcnn")
    x, y = _slices(6)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(40):
        opt.zero_grad()
        net(x, y).backward()
        opt.step()
    net.eval()
    found = net.detect(x)
    result = match_instances(found[0], y[0])
    assert len(found[0]) and result.tp[0] == found[0].scores[0] > 0.3  # its top box is on the nodule
    assert not len(found[-1]) or found[-1].scores[0] < found[0].scores[0]  # the empty slice scores less


def test_no_box_no_explanation_and_the_top_box_explained():
    from medlearn.models.detection.cam import detection_cam

    x, y = _slices(2)
    quiet = _net("ssdlite", score_threshold=0.999).eval().requires_grad_(False)  # nothing reaches it
    result = detection_cam(quiet, x)
    assert result.maps.shape == (2, SIZE, SIZE) and not result.maps.any()
    assert result.logits.shape == (2, 2, SIZE, SIZE) and result.target_classes == [1, 1]
    net = _net("ssdlite").eval().requires_grad_(False)
    result = detection_cam(net, x)
    assert result.maps.max() > 0 and result.forward_ms > 0
    assert not any(p.grad is not None for p in net.parameters())  # nothing left on a shared model


def test_trainer_records_froc_for_a_detector():
    from medlearn.train import Trainer, TrainConfig

    x, y = _slices(6)
    data = TensorDataset(x, y)
    config = TrainConfig(task="detection", num_classes=2, epochs=1, batch_size=3, amp=False)
    history = Trainer(_net("faster_rcnn"), data, data, config).fit()
    row = history[-1]
    assert {"cpm", "sensitivity_1fp", "sensitivity_0.125fp", "val_loss", "train_loss"} <= set(row)
    assert row["froc_images"] == 6 and row["froc_objects"] == 5
    assert 0.0 <= row["cpm"] <= 1.0


def test_predict_gives_boxes_on_the_image_and_explains_the_top_one(tmp_path):
    from medlearn.data.phantoms import make_one
    from medlearn.predict import Predictor
    from medlearn.train.checkpoints import save_checkpoint
    from medlearn.train.recipes import untrained_meta

    meta = untrained_meta("lung_detection", "faster_rcnn", source="test", input_size=64, width=4)
    net = get_model("faster_rcnn", in_channels=1, num_classes=2, width=4, input_size=64)
    ckpt = save_checkpoint(net, meta, tmp_path / "det.safetensors")
    ph = make_one("lung_detection", seed=1, index=0, size=96, n_nodules=1)
    pred = Predictor(device="cpu").predict("lung_detection", ph.image, explain="gradcam", checkpoint=ckpt)
    assert pred.boxes and pred.mask.shape == (96, 96) and pred.explanation.shape == (96, 96)
    scores = [b["score"] for b in pred.boxes]
    assert scores == sorted(scores, reverse=True) and all(b["label"] == "nodule" for b in pred.boxes)
    x0, y0, x1, y1 = np.array([b["box"] for b in pred.boxes]).T
    assert x1.max() <= 96.01 and y1.max() <= 96.01 and (x1 >= x0).all()  # on the 96 px image, not the 64 px input
    assert pred.summary()["boxes"] == pred.boxes


def test_evaluate_scores_a_detector_by_froc(tmp_path):
    """`medlearn evaluate` on a detection study: CPM and sensitivities per false-positive rate
    (medlearn.froc), intervals over patients, per item the objects found."""
    from medlearn.data.phantoms import make_one
    from medlearn.evaluate import score
    from medlearn.predict import Predictor
    from medlearn.train.checkpoints import save_checkpoint
    from medlearn.train.recipes import untrained_meta

    meta = untrained_meta("lung_detection", "faster_rcnn", source="test", input_size=64, width=4)
    torch.manual_seed(0)
    net = get_model("faster_rcnn", in_channels=1, num_classes=2, width=4, input_size=64)
    ckpt = save_checkpoint(net, meta, tmp_path / "det.safetensors")
    items = [make_one("lung_detection", seed=1, index=i, size=64, n_nodules=1) for i in range(4)]
    result = score("lung_detection", items, ckpt, predictor=Predictor(device="cpu"), resamples=50)
    names = [f.name for f in result.figures]
    assert names[0] == "cpm" and "sensitivity_1fp" in names and "dice" not in names
    assert result.n_items == 4 and all(0.0 <= f.value <= 1.0 for f in result.figures)
    assert sum(row["objects"] for row in result.items) == 4
    assert all(0 <= row["found"] <= row["objects"] for row in result.items)
    assert any("FROC over 4 images holding 4 true objects" in note for note in result.notes)
