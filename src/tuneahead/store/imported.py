"""A run brought in from a team's history (a Trainer output folder, an MLflow run), and what of it could
not be mapped, in words: every importer returns these, and `tuneahead runs import` prints them alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuneahead.store.sqlite import RunRecord


@dataclass
class ImportedRun:
    record: RunRecord
    source: str  # where it came from: a folder, or an MLflow tracking URI and run id
    unmapped: list[str] = field(default_factory=list)
