"""What the imaging libraries say while a file is read, kept as notes on the image.

pydicom, nibabel, tifffile and Pillow report odd files through Python warnings and their
loggers (tifffile logs "invalid page offset" for a truncated stack, pydicom warns about a
header value it had to fix). Left alone, those lines go to the terminal, where a student
never connects them with the picture, and the command line prints stray lines next to its
one ``error:`` line. :func:`listening` catches them for the duration of a read, in the
reading thread only, and :func:`as_notes` turns them into sentences for ``meta["notes"]``.

Thread safety (the app reads uploads of several sessions at once): warnings are routed by
one replacement of :func:`warnings.showwarning`, installed while any thread is reading
and handing the warnings of other threads on unchanged (``warnings.catch_warnings`` would
restore another thread's state on exit); meanwhile UserWarning and RuntimeWarning are shown
every time they occur, in every thread, not once per place. The libraries' loggers get, for
good, a filter that keeps the records of a reading thread and lets every other record pass
untouched, and their top loggers a handler that does the same for loggers made later, passing
other records on as Python's own propagation would (to the root logger's handlers, else
:data:`logging.lastResort`).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from contextlib import contextmanager
from pathlib import PurePath
from typing import Iterator, NamedTuple

from medlearn.text import visible

LIBRARIES = ("pydicom", "nibabel", "tifffile", "PIL")
"""Top-level loggers of the libraries the readers use."""

MAX_NOTES = 5
"""At most this many library messages become notes on one image (then a count of the rest)."""

MAX_CHARS = 240
"""A library message longer than this is cut (a note, not a traceback)."""

_ABOUT_THE_CODE = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning, ResourceWarning)
"""Warning categories about program code, not the file: never notes."""

_OBJECT_REPR = re.compile(r" ?<(?:[\w.]+ object at 0x[0-9a-fA-F]+|tifffile\.[^<>]*)> ?")
"""Python's ``<_io.BytesIO object at 0x7f...>`` and tifffile's ``<tifffile.TiffPages @8>`` in a
library's message: noise for a student."""

_SIZE_WARNINGS = ("DecompressionBombWarning",)
"""Pillow's size warning: MedLearn's own limits (:mod:`medlearn.data.io.limits`) decide instead."""


class Heard(NamedTuple):
    """One message: which library, how grave (a :mod:`logging` level) and what it said."""

    library: str
    level: int
    text: str


_local = threading.local()
_lock = threading.Lock()
_readers = 0  # threads inside listening(); the warnings route is installed while > 0
_passed_on = None  # warnings.showwarning as it was before the route was installed
_ORIGINAL = warnings.showwarning
_FILTERS = (("always", None, UserWarning, None, 0), ("always", None, RuntimeWarning, None, 0))


def _stack() -> list[list[Heard]]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _hear(item: Heard) -> None:
    for heard in _stack():  # nested listeners all hear it
        heard.append(item)


def _library(filename: str) -> str:
    """The package a warning came from (``pydicom`` from ``.../site-packages/pydicom/x.py``)."""
    parts = PurePath(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts[:-1]:
            return PurePath(parts[parts.index(marker) + 1]).stem
    return "the reader"


def _route(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` while any thread reads: this thread's warnings are heard."""
    if _stack() and not issubclass(category, _ABOUT_THE_CODE):
        if category.__name__ not in _SIZE_WARNINGS:
            _hear(Heard(_library(filename), logging.WARNING, str(message)))
        return
    (_passed_on or _ORIGINAL)(message, category, filename, lineno, file, line)


def _hear_record(record: logging.LogRecord) -> None:
    if record.levelno >= logging.WARNING:
        _hear(Heard(record.name.split(".")[0], record.levelno, record.getMessage()))


class _Intercept(logging.Filter):
    """On every logger of the libraries: while this thread reads, a record is heard and goes no
    further (nibabel's ``nibabel.global`` has a terminal handler of its own); otherwise it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _stack():
            return True
        _hear_record(record)
        return False


class _LogRoute(logging.Handler):
    """On the libraries' top loggers (which stop propagating), for records of loggers made after
    :func:`_install_logs` ran: a reading thread's records are heard; any other record goes where
    propagation would have taken it (the root logger's handlers, else :data:`logging.lastResort`)."""

    def emit(self, record: logging.LogRecord) -> None:
        if _stack():
            _hear_record(record)
            return
        root = logging.getLogger()
        if root.handlers:
            for handler in root.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
            return
        last = logging.lastResort
        if last is not None and record.levelno >= last.level and not self._handled_on_the_way(record):
            last.handle(record)

    def _handled_on_the_way(self, record: logging.LogRecord) -> bool:
        """Whether a logger between the record's and the root has a handler (other than this one):
        then Python would not have used :data:`logging.lastResort`."""
        logger = logging.getLogger(record.name)
        while logger is not None and logger is not logging.root:
            if any(h is not self for h in logger.handlers):
                return True
            logger = logger.parent
        return False


_INTERCEPT = _Intercept()
_LOG_ROUTE = _LogRoute(logging.DEBUG)


_loggers_seen = 0  # how many loggers Python had when _install_logs last looked


def _install_logs() -> None:
    """Put :data:`_INTERCEPT` on every logger of the libraries that exists now (loggers appear as
    modules are imported, so this looks again at each read when there are new ones) and
    :data:`_LOG_ROUTE` on their top loggers."""
    global _loggers_seen
    for name in LIBRARIES:
        top = logging.getLogger(name)
        if _LOG_ROUTE not in top.handlers:
            top.addHandler(_LOG_ROUTE)
            top.propagate = False
    loggers = logging.root.manager.loggerDict
    if len(loggers) == _loggers_seen:
        return
    _loggers_seen = len(loggers)
    for name, logger in list(loggers.items()):
        if (isinstance(logger, logging.Logger) and name.split(".")[0] in LIBRARIES
                and _INTERCEPT not in logger.filters):
            logger.addFilter(_INTERCEPT)


def _enter() -> None:
    global _readers, _passed_on
    with _lock:
        _install_logs()
        if _readers == 0:
            _passed_on = warnings.showwarning
            warnings.showwarning = _route
            for entry in reversed(_FILTERS):
                warnings.filterwarnings(entry[0], category=entry[2])
        _readers += 1


def _leave() -> None:
    global _readers, _passed_on
    with _lock:
        _readers -= 1
        if _readers == 0:
            if warnings.showwarning is _route:
                warnings.showwarning = _passed_on
            for entry in _FILTERS:
                if entry in warnings.filters:
                    warnings.filters.remove(entry)
            _passed_on = None


@contextmanager
def listening() -> Iterator[list[Heard]]:
    """Collect, into the list it yields, the warnings and log records (warning level and
    above) of this thread while the block runs; nothing of it reaches the terminal."""
    heard: list[Heard] = []
    _enter()
    _stack().append(heard)
    try:
        yield heard
    finally:
        stack = _stack()
        del stack[next(i for i in range(len(stack) - 1, -1, -1) if stack[i] is heard)]  # by identity
        _leave()


def one_line(text: object) -> str:
    """A library's message (or exception) as one line: line breaks and runs of spaces as one
    space, control characters visible, at most :data:`MAX_CHARS` characters."""
    return visible(" ".join(_OBJECT_REPR.sub("", str(text)).split()), MAX_CHARS)


def as_notes(heard: list[Heard]) -> list[str]:
    """Sentences for ``meta["notes"]``: each distinct message once (a library that both warns
    and logs says it twice), at most :data:`MAX_NOTES`."""
    seen: dict[str, str] = {}
    for item in heard:
        text = one_line(item.text)
        if text and text not in seen:
            seen[text] = item.library
    notes = [f"While reading, {lib} reported: {text}" for text, lib in seen.items()]
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [f"… and {len(notes) - MAX_NOTES} more messages from the reading libraries."]
    return notes
