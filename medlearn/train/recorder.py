"""The metrics recorder: accumulates cheaply per batch, computes scores once per epoch.

Per training batch it adds one float (the loss the trainer already fetched) and, for
classifiers, a count of correct predictions kept on the device (no extra sync). Per
validation batch it keeps the probabilities (classification) or the predicted label
maps (segmentation) on the CPU; AUC, kappa, Dice, IoU and HD95 are computed once in
``after_epoch`` with :mod:`medlearn.metrics`.
"""

from __future__ import annotations

import time

import torch

from medlearn.metrics import classification_metrics, segmentation_metrics
from medlearn.train.events import Callback


class MetricsCallback(Callback):
    """Fills ``trainer.history`` with one metrics dict per epoch.

    Keys: ``epoch`` (1-based), ``train_loss``, ``train_accuracy`` (classification),
    ``val_loss`` and the task's scores when there is validation data, ``seconds``
    (the whole epoch), ``train_seconds`` and ``images_per_s`` (training pass only).
    """

    order = -10

    def before_epoch(self, trainer) -> None:
        self._t0 = time.perf_counter()
        self._train_s: float | None = None
        self._loss_sum, self._n = 0.0, 0
        self._correct = torch.zeros((), dtype=torch.long, device=trainer.device)

    def before_validate(self, trainer) -> None:
        self._train_s = time.perf_counter() - self._t0
        self._val_loss = torch.zeros((), device=trainer.device)
        self._val_n = 0
        self._outputs: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def after_batch(self, trainer) -> None:
        n = len(trainer.yb)
        if trainer.training:
            self._loss_sum += trainer.loss_value * n
            self._n += n
            if not trainer.config.is_segmentation:
                self._correct += (trainer.logits.argmax(1) == trainer.yb).sum()
            return
        self._val_loss += trainer.loss.detach().float() * n
        self._val_n += n
        logits = trainer.logits.float()
        out = logits.argmax(1).to(torch.uint8) if trainer.config.is_segmentation else logits.softmax(1)
        self._outputs.append(out.cpu())
        self._targets.append(trainer.yb.cpu())

    def after_epoch(self, trainer) -> None:
        train_s = self._train_s if self._train_s is not None else time.perf_counter() - self._t0
        m: dict = {"epoch": trainer.epoch + 1, "train_loss": self._loss_sum / max(self._n, 1)}
        if not trainer.config.is_segmentation:
            m["train_accuracy"] = self._correct.item() / max(self._n, 1)
        if self._train_s is not None and self._val_n:
            m["val_loss"] = float(self._val_loss.item() / self._val_n)
            m.update(self._scores(trainer.config))
        m.update(seconds=time.perf_counter() - self._t0, train_seconds=train_s,
                 images_per_s=self._n / max(train_s, 1e-9), lr=trainer.optimizer.param_groups[0]["lr"])
        trainer.history.append(m)

    def _scores(self, config) -> dict:
        outputs, targets = torch.cat(self._outputs), torch.cat(self._targets)
        if config.is_segmentation:
            return segmentation_metrics(outputs, targets, config.num_classes, spacing=config.spacing,
                                        class_names=config.class_names or None, hd95=config.hd95)
        return classification_metrics(targets, outputs, ordinal=config.ordinal)
