"""What a training run says about itself: its status and its progress, as typed records.

One status enum serves the run store, the job manager, every job backend and the pages;
one set of progress records travels from a worker (a local process or a Ray task) to the
server, so no one parses a dict by its keys. All of them are plain, picklable data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class RunStatus(StrEnum):
    """Where a run stands. A ``StrEnum``: it is stored, sent and compared as its text."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process ended without saying so (found on the next start)

    @property
    def live(self) -> bool:
        return self in LIVE

    @property
    def final(self) -> bool:
        return self not in LIVE


LIVE: frozenset[RunStatus] = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
FINAL: tuple[RunStatus, ...] = tuple(s for s in RunStatus if s not in LIVE)


@dataclass(frozen=True)
class Progress:
    """The base of every progress record; ``kind`` names it (``"batch"``, ``"epoch"``...)."""

    kind: ClassVar[str] = ""
    job: int | None = None


@dataclass(frozen=True)
class RunStarted(Progress):
    """A worker took the job (a backend with its own queue may hold it before that)."""

    kind: ClassVar[str] = "started"


@dataclass(frozen=True)
class BatchProgress(Progress):
    """A training batch finished (sent at most every few tenths of a second)."""

    kind: ClassVar[str] = "batch"
    epoch: int = 0  # 1-based
    batch: int = 0  # 1-based
    batches: int = 0
    epochs: int = 0  # as planned now: a time budget may shorten the run
    loss: float = float("nan")

    @property
    def position(self) -> float:
        """Epochs done so far, as a fraction (the x axis of a live loss curve)."""
        return self.epoch - 1 + self.batch / max(self.batches, 1)


@dataclass(frozen=True)
class EpochResult(Progress):
    """An epoch ended: its training loss and validation scores (the store's epoch row)."""

    kind: ClassVar[str] = "epoch"
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        return int(self.metrics["epoch"])


@dataclass(frozen=True)
class RunEnd(Progress):
    """The trainer's loop ended (the run's result follows once it is stored)."""

    kind: ClassVar[str] = "end"
    status: RunStatus = RunStatus.DONE
    epochs: int = 0


@dataclass(frozen=True)
class RunResult(Progress):
    """The worker's last word: the run's final status and, when it failed, why."""

    kind: ClassVar[str] = "result"
    status: RunStatus = RunStatus.DONE
    error: str | None = None


KINDS = {c.kind: c for c in (RunStarted, BatchProgress, EpochResult, RunEnd, RunResult)}
