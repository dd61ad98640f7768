"""Errors meant for the user.

Every exception here carries a one-line message that the CLI (and later the
UI) prints as is. Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: a problem the user can fix, with a one-line message."""

    exit_code = 1


class InputError(AssistantError):
    """Bad input: a file, flag or path the user gave (missing, empty, unsupported, unwritable ``--out``),
    an empty query, or a reference (document, history id) that names nothing."""

    exit_code = 2


class FileError(InputError):
    """One input file cannot be used; ``reason`` says why (so a folder ingest can list them all)."""

    def __init__(self, reason: str, path: object) -> None:
        super().__init__(f"{reason}: {path}")
        self.reason, self.path = reason, str(path)


class StoreError(AssistantError):
    """The index is missing, corrupted, or was built with another embedder."""


class ModelError(AssistantError):
    """A model is unknown, not installed, or its file fails verification."""


class ConfigError(AssistantError):
    """A setting has a value we cannot use."""

    exit_code = 2


class Cancelled(AssistantError):
    """The user stopped a request before it finished."""
