"""Typed errors. Every failure a user can cause surfaces as one of these.

The message of each error is written for a student: it says what went wrong and
what to do about it, never a traceback.
"""


class MedlearnError(Exception):
    """Base class of every error MedLearn raises on purpose."""


class MedlearnInputError(MedlearnError, ValueError):
    """A file or array given by a user cannot be used (empty, corrupt, too large, ...)."""


class DatasetUnavailableError(MedlearnError):
    """A dataset is not on this machine and cannot be fetched (offline, bad checksum)."""


class ModelUnavailableError(MedlearnError):
    """No trained model (checkpoint) exists yet for the requested case and architecture."""


class DatabaseUnavailableError(MedlearnError):
    """The run store's database cannot be reached or used (server down, refused, locked, too new)."""


class UnknownNameError(MedlearnError, KeyError):
    """A case, model, dataset or method name that no registry knows."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
