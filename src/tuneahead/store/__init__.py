"""Run history: the SQLite store, the campaign queue and exports to the run-table format."""

from tuneahead.store.sqlite import SCHEMA_VERSION, RunRecord, RunStore

__all__ = ["SCHEMA_VERSION", "RunRecord", "RunStore"]
