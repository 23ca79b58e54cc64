"""The metrics recorder: accumulates cheaply per batch, computes scores once per epoch.

Per training batch it adds one float (the loss the trainer already fetched) and, for
classifiers, a count of correct predictions kept on the device (no extra sync). Per
validation batch it keeps the probabilities (classification) or the predicted label
maps (segmentation) on the CPU; AUC, kappa, Dice, IoU and HD95 are computed once in
``after_epoch`` with :mod:`medlearn.metrics`. A detector's validation batch keeps its boxes
(those of the same forward pass) matched to the truth's regions, and the epoch records FROC
(:mod:`medlearn.froc`): ``cpm`` and ``sensitivity_<r>fp`` at 1/8..8 false positives per image.

A 2D segmenter of volumes (validation rows ``"volume/z12"``) is scored per volume, as a
3D model is: its slices are stacked back and Dice and IoU computed over each volume
(per slice, every small edge slice would weigh as much as the middle of the organ and
the 2D networks would lose a race against 3D ones on the metric, not on the task).
``dice_per_slice`` keeps the slice-wise mean; HD95 stays slice-wise (in-plane mm).
"""

from __future__ import annotations

import time

import torch

from medlearn.metrics import classification_metrics, segmentation_metrics
from medlearn.train.data import split_slice_id
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
        self._matches: list = []  # a detector's matched boxes per image (medlearn.froc)

    def after_batch(self, trainer) -> None:
        n = len(trainer.yb)
        if trainer.training:
            self._loss_sum += trainer.loss_value * n
            self._n += n
            if not trainer.config.is_segmentation and trainer.logits is not None:
                self._correct += (trainer.logits.argmax(1) == trainer.yb).sum()
            return
        self._val_loss += trainer.loss.detach().float() * n
        self._val_n += n
        if trainer.config.is_detection:  # the boxes of this same forward pass, matched to the truth's regions
            from medlearn.froc import match_instances

            found = trainer.unwrapped_model.detections(trainer.xb)
            self._matches += [match_instances(f, t, trainer.config.num_classes) for f, t in zip(found, trainer.yb.cpu())]
            return
        logits = trainer.logits.float()
        out = logits.argmax(1).to(torch.uint8) if trainer.config.is_segmentation else logits.softmax(1)
        self._outputs.append(out.cpu())
        self._targets.append(trainer.yb.cpu())

    def after_epoch(self, trainer) -> None:
        train_s = self._train_s if self._train_s is not None else time.perf_counter() - self._t0
        m: dict = {"epoch": trainer.epoch + 1, "train_loss": self._loss_sum / max(self._n, 1)}
        if not trainer.config.is_segmentation and not trainer.own_loss:
            m["train_accuracy"] = self._correct.item() / max(self._n, 1)
        if self._train_s is not None and self._val_n:
            m["val_loss"] = float(self._val_loss.item() / self._val_n)
            m.update(self._scores(trainer.config, getattr(trainer.val_data, "ids", None)))
        m.update(seconds=time.perf_counter() - self._t0, train_seconds=train_s,
                 images_per_s=self._n / max(train_s, 1e-9), lr=trainer.optimizer.param_groups[0]["lr"])
        trainer.history.append(m)

    def _scores(self, config, ids: list[str] | None = None) -> dict:
        if config.is_detection:  # FROC: CPM and the sensitivities at 1/8..8 false positives per image
            from medlearn.froc import froc_scores

            return froc_scores(self._matches)
        outputs, targets = torch.cat(self._outputs), torch.cat(self._targets)
        if not config.is_segmentation:
            return classification_metrics(targets, outputs, ordinal=config.ordinal, calibrated=True)
        names = config.class_names or None
        scores = segmentation_metrics(outputs, targets, config.num_classes, spacing=config.spacing,
                                      class_names=names, hd95=config.hd95)
        volumes = slice_groups(ids, len(outputs))
        if volumes:
            whole = [segmentation_metrics(outputs[rows][None], targets[rows][None], config.num_classes,
                                          class_names=names, hd95=False) for rows in volumes]
            scores["dice_per_slice"] = scores["dice"]
            for key in ("dice", "iou"):
                scores[key] = _nanmean([w[key] for w in whole])
                scores[f"{key}_per_class"] = {c: _nanmean([w[f"{key}_per_class"][c] for w in whole])
                                              for c in whole[0][f"{key}_per_class"]}
        return scores


def slice_groups(ids: list[str] | None, n: int) -> list[list[int]]:
    """Row indices of each volume, slices in z order, when the rows are slices ``"name/z12"``
    of volumes (else ``[]``)."""
    parts = [split_slice_id(i) for i in ids] if ids and len(ids) == n else []
    if not parts or None in parts:
        return []
    groups: dict[str, list[tuple[int, int]]] = {}
    for row, (volume, z) in enumerate(parts):
        groups.setdefault(volume, []).append((z, row))
    return [[row for _, row in sorted(rows)] for rows in groups.values()]


def _nanmean(values: list[float]) -> float:
    kept = [v for v in values if v == v]  # a class absent from a volume and its prediction: no vote
    return float(sum(kept) / len(kept)) if kept else float("nan")
