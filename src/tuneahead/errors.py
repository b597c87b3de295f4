"""Error types shared by every layer.

Each error carries an exit code so the CLI can map failures to meaningful statuses without
string matching, and a location (file, line, field) so a user can find what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass


class ExitCode:
    """Process exit codes. 0-2 are reserved for verdicts (GO / NO-GO / UNCERTAIN)."""

    OK = 0
    NO_GO = 1
    UNCERTAIN = 2
    USAGE = 3  # bad command line (typer/click also uses 2 for usage; we remap)
    INPUT = 4  # invalid data, recipe or model files
    MODEL = 5  # model could not be loaded / resolved
    INTERNAL = 10
    INTERRUPTED = 130  # Ctrl-C / SIGINT, as the shell reports it


@dataclass(frozen=True)
class Location:
    """Where in the user's input something is: file, 1-based line/row, and/or field (dotted key)."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts) or "<unknown location>"


class TuneAheadError(Exception):
    """Base class: a problem the user can fix, with a clear message."""

    exit_code: int = ExitCode.INTERNAL

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "error": type(self).__name__,
            "message": self.message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "field": loc.field if loc else None,
            "hint": self.hint,
        }


class InputError(TuneAheadError, ValueError):
    """Invalid user input: a data row, a recipe key, a file, a command-line value.

    Also a ValueError, so code that validates with `except ValueError` keeps working, and every
    user-supplied value can raise this (exit 4, with its location) where it enters."""

    exit_code = ExitCode.INPUT


class UsageError(TuneAheadError):
    """Options that do not go together on the command line (exit 3, like click's own usage errors)."""

    exit_code = ExitCode.USAGE


class DataError(InputError):
    """A dataset row or file that cannot be parsed or normalised."""


class EmptyDatasetError(DataError):
    """A dataset that holds no usable example."""


class RecipeError(InputError):
    """A recipe file with a wrong type, an invalid value or an unreadable structure."""


class ModelError(TuneAheadError):
    """A model or tokenizer that cannot be found or loaded locally."""

    exit_code = ExitCode.MODEL
