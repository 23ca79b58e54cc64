"""One tiny epoch per task kind, events, stop, early stopping and resume."""

import math
import threading

import pytest
import torch

from medlearn.cases import get_case
from medlearn.train.callbacks import Checkpointing, EarlyStopping, StopFlag, Streaming
from medlearn.train.checkpoints import load_resume_state, resume_path
from medlearn.train.config import TrainConfig
from medlearn.train.data import ArrayDataset, make_dataset, split_items
from medlearn.train.trainer import Trainer
from train_helpers import TinyClassifier, TinySegmenter, blob_items, tensors


def _datasets(case_key, items, model_dims, size=12):
    case = get_case(case_key)
    train, val = split_items(items, 2, seed=0)
    train_data = make_dataset(train, case, size, model_dims, augment=True)
    return case, train_data, make_dataset(val, case, size, model_dims)


def test_classification_2d_epoch():
    case, train, val = _datasets("breast", blob_items(8), 2)
    history = Trainer(TinyClassifier(), train, val, TrainConfig(epochs=1, batch_size=4)).fit()
    m = history[0]
    assert m["epoch"] == 1 and math.isfinite(m["train_loss"]) and math.isfinite(m["val_loss"])
    assert 0 <= m["accuracy"] <= 1 and m["confusion"] and m["images_per_s"] > 0


def test_segmentation_2d_colour_epoch():
    case, train, val = _datasets("gastric", blob_items(6, colour=True), 2)
    assert train.images.shape[1:] == (3, 12, 12)
    config = TrainConfig(task="segmentation", num_classes=2, epochs=1, batch_size=2,
                         class_names=case.task.class_names)
    m = Trainer(TinySegmenter(in_channels=3), train, val, config).fit()[0]
    assert 0 <= m["dice"] <= 1 and "tumour" in m["dice_per_class"] and m["hd95"] >= 0


def test_segmentation_3d_epoch():
    case, train, val = _datasets("hippocampus", blob_items(5, size=8, depth=6), 3, size=8)
    assert train.images.shape[1:] == (1, 8, 8, 8)
    config = TrainConfig(task="segmentation", num_classes=3, epochs=1, batch_size=2, spacing=train.spacing)
    m = Trainer(TinySegmenter(spatial_dims=3, num_classes=3), train, val, config).fit()[0]
    assert 0 <= m["iou"] <= m["dice"] <= 1


def _data(n=16):
    x, y = tensors(n)
    return ArrayDataset(x, y, [str(i) for i in range(n)])


def test_events_fire_in_order_and_listeners_stream():
    data = _data(8)
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=1, batch_size=4))
    seen, messages = [], []
    for event in ("before_fit", "before_epoch", "after_batch", "before_validate", "after_epoch", "after_fit"):
        trainer.set_callback(event, lambda t, e=event: seen.append((e, t.training)))
    trainer.add_callback(Streaming(messages.append, job=7))
    trainer.fit()
    names = [e for e, _ in seen]
    assert names[:4] == ["before_fit", "before_epoch", "after_batch", "after_batch"]
    assert names[-2:] == ["after_epoch", "after_fit"] and names.count("after_batch") == 4  # 2 train + 2 val
    kinds = [m.kind for m in messages]
    assert kinds == ["batch", "batch", "epoch", "end"] and messages[-1].status == "done"
    assert all(m.job == 7 for m in messages)
    with pytest.raises(KeyError):
        trainer.set_callback("on_nothing", print)


def test_stop_flag_ends_after_current_batch():
    flag = threading.Event()
    data = _data(16)
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=3, batch_size=4), [StopFlag(flag)])
    batches = []
    trainer.set_callback("before_batch", lambda t: (batches.append(t.batch_index), flag.set()))
    assert trainer.fit() == [] and trainer.status == "stopped" and batches == [0]


def test_early_stopping():
    data = _data(8)
    stopper = EarlyStopping(monitor="val_loss", patience=2, min_delta=100.0)
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=10, batch_size=4), [stopper])
    assert len(trainer.fit()) == 3 and trainer.status == "done"


def test_resume_continues_exactly(tmp_path):
    data = _data(16)

    def trainer(epochs, callbacks=()):
        torch.manual_seed(0)
        return Trainer(TinyClassifier(), data, data, TrainConfig(epochs=epochs, batch_size=4), callbacks)

    straight = trainer(2)
    straight.fit()
    first = trainer(1, [Checkpointing(tmp_path / "m.safetensors", {"name": "tiny"})])
    first.fit()
    second = trainer(2)
    second.load_state_dict(load_resume_state(resume_path(tmp_path / "m.safetensors")))
    history = second.fit()
    assert [m["epoch"] for m in history] == [1, 2]
    for a, b in zip(straight.model.state_dict().values(), second.model.state_dict().values()):
        torch.testing.assert_close(a, b)


class _OwnLoss(torch.nn.Module):
    """A segmenter that, like torchvision's detectors, returns its loss when given the target."""

    computes_own_loss = True

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.calls = []

    def forward(self, x, target=None):
        logits = self.net(x)
        if target is None:
            return logits
        self.calls.append(self.training)
        return torch.nn.functional.cross_entropy(logits, target.long())


def test_a_model_that_computes_its_own_loss_trains_and_validates_by_its_logits():
    case, train, val = _datasets("hippocampus", blob_items(6), 2)
    model = _OwnLoss()
    config = TrainConfig(task="segmentation", num_classes=2, epochs=2, batch_size=2,
                         class_names=case.task.class_names[:2])
    history = Trainer(model, train, val, config).fit()
    assert model.calls and all(model.calls)  # the target went in while training only
    assert history[1]["train_loss"] < history[0]["train_loss"] or math.isfinite(history[1]["train_loss"])
    assert 0 <= history[-1]["dice"] <= 1 and "train_accuracy" not in history[-1]


def test_stored_progress_writes_the_batch_curve_for_other_replicas(tmp_path):
    from medlearn.train.callbacks import StoredProgress
    from medlearn.train.store import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run("breast", "tiny", "phantoms", {})
    data = _data(16)
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=2, batch_size=4),
                      [StoredProgress(store, run, every_s=0.0, keep=3)])
    trainer.fit()
    progress = store.get_run(run).progress
    assert progress["epoch"] == 2 and progress["epochs"] == 2
    positions = [x for x, _ in progress["batches"]]
    assert positions[-1] == 2.0 and all(1.0 < x <= 2.0 for x in positions)  # the running epoch's batches only
    assert len(positions) <= 3 and all(isinstance(loss, float) for _, loss in progress["batches"])
