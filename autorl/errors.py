"""Exceptions that cross package boundaries. Imports nothing from autorl."""

from __future__ import annotations

from autorl.types import FailureReason


class AutoRLError(Exception):
    """Base class: a problem a user can act on. The message says what to change."""


class UsageError(AutoRLError):
    """An option or request value is out of range or contradicts another one."""


class SpaceError(AutoRLError):
    """A search-space file or a configuration is malformed or infeasible."""


class TaskError(AutoRLError):
    """The environment cannot be built as specified (unknown id, bad entry point, bad attrs)."""


class IncompatibleAlgorithm(AutoRLError):
    """The algorithm cannot act in the environment's action space (DQN on Box actions ...)."""


class StudyError(AutoRLError):
    """A study cannot be created, found or continued as asked."""


class StorageUnreachable(StudyError):
    """The database cannot be reached now (down, refusing connections): worth a retry."""


class ArtifactError(AutoRLError):
    """A saved model cannot be loaded: a file is missing or is not what it should be."""


class TrialFailure(AutoRLError):
    """A trial ended without a usable score; ``reason`` is queryable in storage."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type[TrialFailure], tuple[FailureReason, str]]:
        return (type(self), (self.reason, self.message))  # it pickles across processes


class SchemaError(AutoRLError):
    """The database's autorl tables are missing, older or newer than this version expects."""


class ExportError(AutoRLError):
    """A configuration cannot be written in the asked format without training something else."""


class FamilyError(AutoRLError):
    """A task-family file is malformed."""


class CompressionError(AutoRLError):
    """A policy cannot be exported, quantized or distilled as asked."""
