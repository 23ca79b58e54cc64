"""Small training callbacks, each a class with one job (fastai style).

A callback overrides any of the events in :mod:`medlearn.train.events`; each handler
receives the trainer. ``order`` decides who runs first at an event (metrics first, so
that early stopping, checkpointing and streaming see this epoch's numbers).
"""

from __future__ import annotations

import math
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from medlearn.metrics import LOWER_IS_BETTER, is_better
from medlearn.train.events import Callback
from medlearn.train.recorder import MetricsCallback

__all__ = ["Callback", "Checkpointing", "EarlyStopping", "MetricsCallback", "ProgressBar", "RunLogging",
           "StopFlag", "Streaming", "TimeBudget"]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    order = 10

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best: float | None = None
        self.wait = 0

    def after_epoch(self, trainer) -> None:
        value = trainer.history[-1].get(self.monitor)
        if value is None or math.isnan(value):
            return
        delta = -self.min_delta if self.monitor in LOWER_IS_BETTER else self.min_delta
        if self.best is None or is_better(self.monitor, value, self.best + delta):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.request_stop("early_stopping")


class TimeBudget(Callback):
    """Fit training into ``seconds``, so a first-visit model is ready within about a minute
    however busy the machine is (issue 16).

    After the first ``probe`` training batches it times a batch, estimates an epoch (its
    training batches plus the validation pass, at about a third of a training batch's cost
    per image) and shortens ``trainer.config.epochs`` to the epochs that fit (at least one);
    the learning-rate schedule follows the new length (``recipes.OneCycle``). After each
    epoch it also stops once another epoch, at the mean pace so far, would pass the budget
    (the machine got busier). The run counts as done; ``trainer.stop_reason`` says
    ``"time_budget"`` when it ended early, and ``self.epochs_fit`` how many epochs it planned.
    """

    order = 5  # before OneCycle's after_batch: the schedule is re-planned in the same batch
    VALIDATION_COST = 1 / 3  # a forward pass against a training step's forward + backward

    def __init__(self, seconds: float, probe: int = 3):
        if not seconds > 0:
            raise ValueError(f"a time budget must be positive, got {seconds!r}")
        self.seconds, self.probe = float(seconds), int(probe)
        self.start, self.done, self.epochs_fit, self.planned = 0.0, 0, None, 0

    def before_fit(self, trainer) -> None:
        self.start, self.done, self.epochs_fit = time.monotonic(), 0, None
        self.planned = trainer.config.epochs

    def after_batch(self, trainer) -> None:
        if not trainer.training or self.epochs_fit is not None:
            return
        self.done += 1
        if self.done < min(self.probe, trainer.n_batches):
            return
        per_batch = (time.monotonic() - self.start) / self.done
        n_val = len(trainer.val_data) if trainer.val_data is not None else 0
        val_batches = n_val / max(1, trainer.config.batch_size)
        per_epoch = per_batch * (trainer.n_batches + self.VALIDATION_COST * val_batches)
        left = trainer.config.epochs - trainer.epoch
        self.epochs_fit = trainer.epoch + max(1, min(left, int(self.seconds // max(per_epoch, 1e-6))))
        trainer.config.epochs = self.epochs_fit

    def after_epoch(self, trainer) -> None:
        elapsed = time.monotonic() - self.start
        epochs = trainer.epoch + 1
        if epochs < trainer.config.epochs and elapsed + elapsed / epochs > self.seconds:
            trainer.request_stop("time_budget")  # the machine got busier than the first batches said
        elif epochs >= trainer.config.epochs < self.planned:
            trainer.request_stop("time_budget")  # the shortened run is complete


class Checkpointing(Callback):
    """After each epoch, save the model checkpoint and the resume state (atomically).

    The states are copied to the CPU at the end of the epoch and written by a background
    thread while the next epoch trains (at most one write pending; ``after_fit`` waits for
    it), so large models do not slow training down.

    Args:
        path: the model checkpoint (``.safetensors`` with a ``.json`` sidecar).
        meta: model config for the sidecar (name, in_channels, num_classes, ...).
        monitor: if set, the model checkpoint is only replaced when this metric improves
            (the resume state is always written, so stop-and-resume continues training).
        background: write in a background thread (``False``: write before returning).
    """

    order = 20

    def __init__(self, path: str | Path, meta: dict[str, Any], monitor: str | None = None,
                 background: bool = True):
        from medlearn.train.checkpoints import resume_path

        self.path, self.meta, self.monitor, self.background = Path(path), dict(meta), monitor, background
        self.resume_path = resume_path(self.path)
        self.best: float | None = None
        self.saved_metrics: dict | None = None
        self._pending: Future | None = None
        self._pool: ThreadPoolExecutor | None = None

    def after_epoch(self, trainer) -> None:
        from medlearn.train.checkpoints import snapshot

        metrics = trainer.history[-1]
        value = metrics.get(self.monitor) if self.monitor else None
        self.wait()
        state = trainer.state_dict()
        model_state = snapshot(state.pop("model"))  # copied once, shared by both files
        state = {**snapshot(state), "model": model_state}
        weights = None
        if self.monitor is None or self.best is None or is_better(self.monitor, value, self.best):
            self.best, self.saved_metrics, weights = value, metrics, state["model"]
        job = (weights, {**self.meta, "metrics": metrics}, state)
        if not self.background:
            return self._write(*job)
        self._pool = self._pool or ThreadPoolExecutor(1, thread_name_prefix="medlearn-checkpoint")
        self._pending = self._pool.submit(self._write, *job)

    def after_fit(self, trainer) -> None:
        try:
            self.wait()  # a failed last write (e.g. disk full) fails the run
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def wait(self) -> None:
        """Block until the pending write is on disk (re-raising its error, if any)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _write(self, weights, meta, state) -> None:
        from medlearn.train.checkpoints import save_resume_state, save_weights

        if weights is not None:
            save_weights(weights, meta, self.path)
        save_resume_state(state, self.resume_path)


class Streaming(Callback):
    """Send per-batch losses and per-epoch metrics to a listener (a queue's ``put``, a list's
    ``append``, a UI callback...) as typed records (:mod:`medlearn.train.records`):
    :class:`BatchProgress`, :class:`EpochResult`, then :class:`RunEnd`.

    Args:
        listener: called with each record.
        every_s: send at most one batch record per this many seconds (epochs always go).
        job: the job id every record carries (None outside the job manager).
    """

    order = 30

    def __init__(self, listener: Callable[[Any], Any], every_s: float = 0.0, job: int | None = None):
        self.listener, self.every_s, self.job = listener, every_s, job
        self._last = -math.inf

    def after_batch(self, trainer) -> None:
        from medlearn.train.records import BatchProgress

        now = time.perf_counter()
        if trainer.training and now - self._last >= self.every_s:
            self._last = now
            self.listener(BatchProgress(self.job, epoch=trainer.epoch + 1, batch=trainer.batch_index + 1,
                                        batches=trainer.n_batches,
                                        epochs=trainer.config.epochs,  # as planned now (a TimeBudget may shorten it)
                                        loss=trainer.loss_value))

    def after_epoch(self, trainer) -> None:
        from medlearn.train.records import EpochResult

        self.listener(EpochResult(self.job, metrics=dict(trainer.history[-1])))

    def after_fit(self, trainer) -> None:
        from medlearn.train.records import RunEnd, RunStatus

        self.listener(RunEnd(self.job, status=RunStatus(trainer.status), epochs=len(trainer.history)))


class StoredProgress(Callback):
    """Write the running epoch's batch losses to the run store at most every ``every_s``
    seconds (:meth:`~medlearn.train.store.RunStore.log_progress`), so a replica that did not
    start the run draws its live curve as the one that did, and the store knows the worker
    is alive. At most ``keep`` points: the oldest half is thinned when it fills."""

    order = 31

    def __init__(self, store, run_id: int, every_s: float = 1.0, keep: int = 400):
        self.store, self.run_id, self.every_s, self.keep = store, run_id, every_s, keep
        self._last, self._points, self._epoch = -math.inf, [], None

    def after_batch(self, trainer) -> None:
        if not trainer.training:
            return
        if trainer.epoch != self._epoch:  # a new epoch: its curve starts afresh (the epochs table has the past)
            self._epoch, self._points = trainer.epoch, []
        loss = trainer.loss_value
        self._points.append([round(trainer.epoch + (trainer.batch_index + 1) / max(trainer.n_batches, 1), 4),
                             None if loss is None or loss != loss else round(float(loss), 5)])
        if len(self._points) > self.keep:
            recent = max(1, self.keep // 2)  # the newest half kept whole, every other older point
            self._points = self._points[:-recent][::2] + self._points[-recent:]
        now = time.perf_counter()
        if now - self._last >= self.every_s:
            self._last = now
            self.store.log_progress(self.run_id, {"epoch": trainer.epoch + 1, "epochs": trainer.config.epochs,
                                                  "batches": self._points})


class ProgressBar(Callback):
    """A tqdm bar over the batches of each epoch and one summary line per epoch (CLI)."""

    order = 40

    KEYS = ("train_loss", "val_loss", "accuracy", "auc", "kappa", "dice", "iou", "hd95")

    def __init__(self, file=None, keys: tuple[str, ...] = KEYS):
        self.file, self.keys, self.bar = file or sys.stderr, keys, None

    def before_epoch(self, trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.n_batches, desc=f"epoch {trainer.epoch + 1}/{trainer.config.epochs}",
                        leave=False, file=self.file, unit="batch")

    def after_batch(self, trainer) -> None:
        if trainer.training and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{trainer.loss_value:.4f}", refresh=False)

    def after_epoch(self, trainer) -> None:
        self._close()
        m = trainer.history[-1]
        parts = [f"{k}={m[k]:.4f}" for k in self.keys if isinstance(m.get(k), float)]
        print(f"epoch {m['epoch']}/{trainer.config.epochs}  " + "  ".join(parts) + f"  ({m['seconds']:.1f}s)",
              flush=True)

    def after_fit(self, trainer) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class StopFlag(Callback):
    """Cooperative stop: ends training after the current batch once ``flag.is_set()``
    (a ``threading.Event`` or ``multiprocessing.Event``)."""

    order = 0

    def __init__(self, flag):
        self.flag = flag

    def after_batch(self, trainer) -> None:
        if trainer.training and self.flag.is_set():
            trainer.request_stop("user")


STOP_REASONS = (None, "user", "early_stopping", "time_budget")


class SyncedStop(Callback):
    """Data-parallel training (DDP, :func:`medlearn.train.recipes.follow_plan`): after every
    training batch rank 0 tells the other ranks whether, and why, it stops (one broadcast
    of a number), so all ranks leave the same batch and none waits for a gradient that
    never comes. Rank 0 alone holds the stop flag, the time budget and the store."""

    order = 1000  # last: after every callback that may have just asked rank 0 to stop

    def after_batch(self, trainer) -> None:
        if trainer.training:
            self._sync(trainer)

    def after_epoch(self, trainer) -> None:
        self._sync(trainer)  # a time budget or early stopping decided at the epoch's end

    @staticmethod
    def _sync(trainer) -> None:
        import torch
        import torch.distributed as dist
        code = torch.tensor([STOP_REASONS.index(trainer.stop_reason) if trainer.stop_reason in STOP_REASONS else 1],
                            device=trainer.device if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(code, src=0)
        if code.item() and not trainer.stop_reason:
            trainer.request_stop(STOP_REASONS[int(code.item())])


class RunLogging(Callback):
    """Write each epoch's metrics to a :class:`~medlearn.train.store.RunStore` run (once per epoch)."""

    order = 25

    def __init__(self, store, run_id: int):
        self.store, self.run_id = store, run_id

    def after_epoch(self, trainer) -> None:
        self.store.log_epoch(self.run_id, trainer.history[-1])
