"""The training loop (after minGPT's trainer and fastai's Learner).

The trainer knows the model, the data and a :class:`TrainConfig`; everything else
(metrics, early stopping, checkpoints, progress, streaming to a UI) is a callback.
It never imports Streamlit. Subscribe with ``add_callback(cb)`` or
``set_callback("after_epoch", fn)``.

On CUDA it trains in mixed precision (``torch.autocast`` + ``GradScaler``) with
channels-last tensors. Per batch it syncs once (``loss.item()``); scores that need all
predictions (AUC, Dice, ...) are computed once per epoch by the recorder.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable

import torch
from torch.utils.data import DataLoader, Dataset

from medlearn.errors import MedlearnInputError
from medlearn.metrics import classification_loss, segmentation_loss
from medlearn.train.config import TrainConfig
from medlearn.train.device import pick_device
from medlearn.train.events import Callback, check_event
from medlearn.train.recorder import MetricsCallback
from medlearn.train.seed import seed_everything


class Trainer:
    """Fit ``model`` on ``train_data``, validating on ``val_data`` after every epoch.

    Args:
        model: returns logits ``(B, K)`` (classification) or ``(B, K, *spatial)``.
        train_data: a dataset of ``(image (C, *spatial) float, target)`` pairs; target a
            class index or a label map ``(*spatial)`` long.
        val_data: the same kind of dataset, or ``None`` to skip validation.
        config: a :class:`TrainConfig`.
        callbacks: extra callbacks; a :class:`MetricsCallback` is always present.
        sampler: a sampler for the training set (DDP passes a ``DistributedSampler``).

    Attributes during ``fit``: ``epoch`` (0-based), ``batch_index``, ``n_batches``,
    ``training``, ``xb``, ``yb``, ``logits``, ``loss``, ``loss_value``, ``history``,
    ``status`` (``"running"``, ``"done"``, ``"stopped"``, ``"failed"``).
    """

    def __init__(self, model: torch.nn.Module, train_data: Dataset, val_data: Dataset | None = None,
                 config: TrainConfig | None = None, callbacks: Iterable[Callback] = (), sampler=None):
        self.config = config or TrainConfig()
        if len(train_data) == 0:
            raise MedlearnInputError("There are no training images; add data before training.")
        self.device = pick_device(self.config.device)
        on_cuda = self.device.type == "cuda"
        self.use_amp = self.config.amp and on_cuda
        self.memory_format = None
        if self.config.channels_last and on_cuda:
            flat = _input_dims(train_data) == 2
            self.memory_format = torch.channels_last if flat else torch.channels_last_3d
        self.model = model.to(self.device, memory_format=self.memory_format or torch.preserve_format)
        self.train_data, self.val_data, self.sampler = train_data, val_data, sampler
        self.loss_fn = segmentation_loss() if self.config.is_segmentation else classification_loss()
        # Models built on torchvision's detection heads (Mask R-CNN, Faster R-CNN) compute their
        # own training loss from the target: ``model(x, target)`` in training mode returns it;
        # in evaluation mode ``model(x)`` returns logits like any other network.
        self.own_loss = bool(getattr(self.unwrapped_model, "computes_own_loss", False))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.learning_rate,
                                           weight_decay=self.config.weight_decay)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.callbacks: list[Callback] = []
        self._fns: dict[str, list[Callable]] = defaultdict(list)
        if not any(isinstance(cb, MetricsCallback) for cb in callbacks):
            self.add_callback(MetricsCallback())
        for cb in callbacks:
            self.add_callback(cb)
        self.history: list[dict] = []
        self.start_epoch, self.epoch, self.batch_index, self.n_batches = 0, 0, 0, 0
        self.training, self.status, self.stop_reason = False, "created", None
        self.loss_value = float("nan")
        self._loader_rng = seed_everything(self.config.seed)
        if self.sampler is None and self.config.balanced and not self.config.is_segmentation:
            self.sampler = balanced_sampler(train_data, self._loader_rng)

    # -- subscription -------------------------------------------------------------
    def add_callback(self, callback: Callback) -> Callback:
        """Add a callback object; returns it."""
        self.callbacks.append(callback)
        self.callbacks.sort(key=lambda cb: cb.order)
        return callback

    def set_callback(self, event: str, fn: Callable[["Trainer"], None]) -> None:
        """Call ``fn(trainer)`` at ``event`` (after the callback objects)."""
        self._fns[check_event(event)].append(fn)

    def request_stop(self, reason: str = "user") -> None:
        """Stop after the current batch (``"user"``) or epoch (``"early_stopping"``)."""
        self.stop_reason = self.stop_reason or reason

    def _fire(self, event: str) -> None:
        for cb in self.callbacks:
            handler = getattr(cb, event, None)
            if handler is not None:
                handler(self)
        for fn in self._fns[event]:
            fn(self)

    # -- state for stop and resume ---------------------------------------------------
    @property
    def unwrapped_model(self) -> torch.nn.Module:
        """The model without a (Distributed)DataParallel wrapper."""
        wrapped = isinstance(self.model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel))
        return self.model.module if wrapped else self.model

    def state_dict(self) -> dict:
        """Everything resume needs: model, optimiser, scaler, epoch, history, RNG states."""
        return {"model": self.unwrapped_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "epoch": self.epoch, "history": self.history,
                "torch_rng": torch.get_rng_state(), "loader_rng": self._loader_rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved state: the next ``fit`` starts at the following epoch."""
        self.unwrapped_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.history = list(state.get("history", []))
        self.start_epoch = int(state["epoch"]) + 1
        torch.set_rng_state(state["torch_rng"])
        self._loader_rng.set_state(state["loader_rng"])

    # -- the loop --------------------------------------------------------------------
    def fit(self) -> list[dict]:
        """Train for the remaining epochs; returns ``history`` (one dict per epoch)."""
        if self.config.num_threads:
            torch.set_num_threads(self.config.num_threads)
        loader = self._loader(self.train_data, train=True)
        self.status, self.stop_reason = "running", None
        self._fire("before_fit")
        try:
            for self.epoch in range(self.start_epoch, self.config.epochs):
                if self.epoch >= self.config.epochs:  # a callback shortened the run (TimeBudget)
                    break
                if self.sampler is not None and hasattr(self.sampler, "set_epoch"):
                    self.sampler.set_epoch(self.epoch)
                self._fire("before_epoch")
                self._train_epoch(loader)
                if self.stop_reason == "user":
                    break  # a half epoch is not recorded; resume restarts it
                self._validate()
                self._fire("after_epoch")
                if self.stop_reason:
                    break
        except BaseException:
            self.status = "failed"
            self._fire("after_fit")
            raise
        self.status = "stopped" if self.stop_reason == "user" else "done"
        self._fire("after_fit")
        return self.history

    def _train_epoch(self, loader: DataLoader) -> None:
        self.model.train()
        self.training, self.n_batches = True, len(loader)
        for self.batch_index, (x, y) in enumerate(loader):
            self.xb, self.yb = self._to_device(x), y.to(self.device, non_blocking=True)
            self._fire("before_batch")
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                if self.own_loss:  # a detector: model(x, target) is its loss, there are no logits
                    self.logits, self.loss = None, self.model(self.xb, self.yb)
                else:
                    self.logits = self.model(self.xb)
                    self.loss = self._loss(self.logits, self.yb)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(self.loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.logits = None if self.logits is None else self.logits.detach()
            self.loss_value = self.loss.item()  # the one sync per batch
            self._fire("after_batch")
            if self.stop_reason == "user":
                return

    @torch.no_grad()
    def _validate(self) -> None:
        if self.val_data is None or len(self.val_data) == 0:
            return
        model = self.unwrapped_model.eval()  # no DDP collectives: each rank validates alone
        self.training = False
        self._fire("before_validate")
        for self.batch_index, (x, y) in enumerate(self._loader(self.val_data, train=False)):
            self.xb, self.yb = self._to_device(x), y.to(self.device, non_blocking=True)
            self._fire("before_batch")
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                self.logits = model(self.xb)
                self.loss = self._loss(self.logits, self.yb)
            self._fire("after_batch")
        self._fire("after_validate")

    def _loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.config.is_segmentation:
            return self.loss_fn(logits.float(), target.unsqueeze(1))
        return self.loss_fn(logits.float(), target)

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=self.memory_format) if self.memory_format else x

    def _loader(self, data: Dataset, train: bool) -> DataLoader:
        bs = self.config.batch_size
        n = len(self.sampler) if (train and self.sampler is not None) else len(data)
        return DataLoader(data, batch_size=bs, shuffle=train and self.sampler is None,
                          sampler=self.sampler if train else None,
                          generator=self._loader_rng if train else None,
                          drop_last=train and n > bs and n % bs == 1,  # BatchNorm cannot train on one image
                          pin_memory=self.device.type == "cuda", num_workers=0)


def balanced_sampler(data: Dataset, generator: torch.Generator) -> torch.utils.data.WeightedRandomSampler:
    """Draw each class equally often (weights 1 / class count), with replacement, as many
    draws per epoch as the set has images; the trainer's seeded generator keeps it repeatable."""
    targets = getattr(data, "targets", None)
    targets = torch.as_tensor(targets if targets is not None else [int(data[i][1]) for i in range(len(data))]).long()
    counts = torch.bincount(targets).float()
    weights = (1.0 / counts.clamp(min=1))[targets]
    return torch.utils.data.WeightedRandomSampler(weights.double(), num_samples=len(targets), replacement=True,
                                                  generator=generator)


def _input_dims(data: Dataset) -> int:
    """Spatial dimensions of the first image ``(C, *spatial)``."""
    return data[0][0].ndim - 1

