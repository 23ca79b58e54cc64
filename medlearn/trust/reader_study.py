"""The class's reader study: every student's quiz calls, stored per session, against the model.

Radiology reader studies put each reader's (1 - specificity, sensitivity) point next to the
model's ROC curve on the same images: a reader point below the curve means the model, at
some threshold, beats that reader on both counts. The answers live in a small SQLite file
in the data home (``reader_study.sqlite``, beside ``runs.sqlite``), in WAL mode so that
every session of a classroom server writes at once, or with ``MEDLEARN_DATABASE_URL`` in the
PostgreSQL database that every replica shares (:mod:`medlearn.data.database`: one table,
one set of queries); the first call of a session for an image counts (as in the quiz).
A multi-class case is reduced to one positive event (:func:`positive_event`: retina,
referable diabetic retinopathy, grade 2 or worse).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import REAL, Column, Connection, Double, Integer, MetaData, Table, Text, delete, select

from medlearn.data.database import insert_ignoring, open_database
from medlearn.data.home import database_target
from medlearn.errors import MedlearnInputError
from medlearn.metrics import auc, roc_points

FILE = "reader_study.sqlite"
_REAL = Double().with_variant(REAL(), "sqlite")
METADATA = MetaData()
ANSWERS = Table(
    "answers", METADATA,
    Column("session", Text, primary_key=True), Column("case_key", Text, primary_key=True),
    Column("image", Text, primary_key=True), Column("call", Integer, nullable=False), Column("confidence", _REAL),
    Column("truth", Integer, nullable=False), Column("probabilities", Text),
    Column("checkpoint", Text, nullable=False, server_default=""), Column("created", _REAL, nullable=False))


def _create_version_1(con: Connection) -> None:
    """Version 1: the table as it was before versions (a file that has it keeps it)."""
    METADATA.create_all(con)


MIGRATIONS = (_create_version_1,)  # migrations[i] brings the table from version i to i + 1

# Multi-class cases: the clinical decision a reader study scores (first positive grade, words).
EVENTS = {"retina": (2, "referable diabetic retinopathy (grade 2, moderate NPDR, or worse)")}


@dataclass(frozen=True)
class Answer:
    """One committed quiz call. ``call`` and ``truth`` index the case's class names;
    ``probabilities``: the model's class probabilities on the image (None if unknown);
    ``confidence``: the student's own, in [0, 1], if given; ``checkpoint``: the model that answered."""

    session: str
    case: str
    image: str
    call: int
    truth: int
    confidence: float | None = None
    probabilities: tuple[float, ...] | None = None
    checkpoint: str = ""


@dataclass(frozen=True)
class PositiveEvent:
    """What counts as "positive" in the study: the classes from ``first`` on, in words."""

    first: int
    text: str

    def of(self, cls: int) -> bool:
        return int(cls) >= self.first

    def probability(self, probabilities) -> float:
        return float(np.sum(np.asarray(probabilities, dtype=float)[self.first:]))


def positive_event(case) -> PositiveEvent:
    """The study's positive event: class 1 of a two-class case (``"malignant"``), a case's
    clinical threshold otherwise (:data:`EVENTS`)."""
    names = tuple(case.task.class_names)
    if case.key in EVENTS:
        first, text = EVENTS[case.key]
        return PositiveEvent(first, text)
    if case.task.is_segmentation or len(names) != 2:
        raise MedlearnInputError(f"A reader study needs a yes/no question; {case.title} has no positive event defined.")
    return PositiveEvent(1, names[1])


class ReaderStudy:
    """Quiz answers in ``location``: an SQLite file's path or a database URL; by default
    ``$MEDLEARN_DATABASE_URL``, else ``<data home>/reader_study.sqlite``. ``path`` is the
    SQLite file (None on a database server)."""

    def __init__(self, location: str | Path | None = None):
        self.db = open_database(location if location else database_target(FILE), "reader_study", MIGRATIONS)
        self.path = self.db.path

    def record(self, answer: Answer) -> bool:
        """Store ``answer``; False when this session already answered this image (the first call counts)."""
        _check(answer)
        probs = None if answer.probabilities is None else json.dumps([float(p) for p in answer.probabilities])
        with self.db.begin() as con:
            row = {"session": answer.session, "case_key": answer.case, "image": answer.image,
                   "call": int(answer.call), "truth": int(answer.truth), "probabilities": probs,
                   "confidence": None if answer.confidence is None else float(answer.confidence),
                   "checkpoint": answer.checkpoint, "created": time.time()}
            result = insert_ignoring(con, ANSWERS, ("session", "case_key", "image"), row)
        return result.rowcount == 1

    def answers(self, case: str, session: str | None = None) -> list[Answer]:
        """The answers of ``case`` (of one ``session`` if given), oldest first."""
        query = select(ANSWERS).where(ANSWERS.c.case_key == case)
        if session is not None:
            query = query.where(ANSWERS.c.session == session)
        with self.db.begin() as con:
            rows = con.execute(query.order_by(ANSWERS.c.created, ANSWERS.c.session, ANSWERS.c.image)).all()
        return [Answer(r.session, r.case_key, r.image, r.call, r.truth, r.confidence,
                       None if r.probabilities is None else tuple(json.loads(r.probabilities)), r.checkpoint)
                for r in rows]

    def reset(self, case: str) -> int:
        """Forget every answer of ``case``; returns how many were removed."""
        with self.db.begin() as con:
            return con.execute(delete(ANSWERS).where(ANSWERS.c.case_key == case)).rowcount


def _check(answer: Answer) -> None:
    if not answer.session or not answer.image:
        raise MedlearnInputError("A reader-study answer needs a session and an image id.")
    if int(answer.call) < 0 or int(answer.truth) < 0:
        raise MedlearnInputError("A call and a truth are class indices (0 or more).")
    if answer.confidence is not None and not 0.0 <= float(answer.confidence) <= 1.0:
        raise MedlearnInputError(f"Confidence is a share in [0, 1], not {answer.confidence!r}.")


@dataclass(frozen=True)
class ReaderPoint:
    """One reader's operating point: ``n`` answers, ``positives`` of them truly positive."""

    session: str
    n: int
    positives: int
    sensitivity: float
    specificity: float

    @property
    def fpr(self) -> float:
        return 1.0 - self.specificity


def reader_points(answers: list[Answer], event: PositiveEvent) -> list[ReaderPoint]:
    """Each session's sensitivity and specificity on the positive event; a session needs at
    least one truly positive and one truly negative image answered to have a point."""
    by_session: dict[str, list[Answer]] = {}
    for a in answers:
        by_session.setdefault(a.session, []).append(a)
    points = []
    for session, rows in by_session.items():
        truth = np.array([event.of(a.truth) for a in rows])
        call = np.array([event.of(a.call) for a in rows])
        if truth.all() or not truth.any():
            continue
        points.append(ReaderPoint(session, len(rows), int(truth.sum()), float(call[truth].mean()),
                                  float((~call[~truth]).mean())))
    return points


@dataclass(frozen=True)
class ModelCurve:
    """The model's ROC curve on the answered images (each image once)."""

    fpr: list[float]
    tpr: list[float]
    thresholds: list[float]
    auc: float
    n_images: int
    positives: int


def model_curve(answers: list[Answer], event: PositiveEvent, checkpoint: str | None = None) -> ModelCurve | None:
    """ROC of the model's probability of the positive event on the answered images (of
    ``checkpoint`` if given), via :func:`medlearn.metrics.roc_points`; None without both kinds."""
    images: dict[str, tuple[int, float]] = {}
    for a in answers:
        if a.probabilities is not None and (checkpoint is None or a.checkpoint == checkpoint):
            images.setdefault(a.image, (int(event.of(a.truth)), event.probability(a.probabilities)))
    if not images:
        return None
    labels = np.array([t for t, _ in images.values()])
    p = np.array([q for _, q in images.values()])
    if labels.all() or not labels.any():
        return None
    probs = np.stack([1.0 - p, p], axis=1)
    roc = roc_points(labels, probs, positive=1)
    return ModelCurve(roc["fpr"], roc["tpr"], roc["thresholds"], auc(labels, probs), len(images), int(labels.sum()))


def model_tpr_at(curve: ModelCurve, fpr: float) -> float:
    """The model's best sensitivity at a false-positive rate of at most ``fpr`` (its ROC step)."""
    reached = [t for f, t in zip(curve.fpr, curve.tpr) if f <= fpr + 1e-12]
    return max(reached) if reached else 0.0


def beaten(points: list[ReaderPoint], curve: ModelCurve) -> int:
    """How many readers the model beats: at their false-positive rate it finds more positives."""
    return sum(model_tpr_at(curve, p.fpr) > p.sensitivity for p in points)
