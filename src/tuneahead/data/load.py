"""Load a dataset from local files and folders as normalised `Example`s, streaming.

    examples, report = load_examples("data/train.jsonl")
    for example in iter_examples(["a.jsonl", "more/"], format="alpaca", skip_invalid=True, report=report):
        ...

The format is detected per file from the first row that normalises cleanly (or forced with
`format=`); every later row of that file must fit it. Invalid rows raise a `DataError` naming the
file, line and field, or with `skip_invalid=True` are counted in the `IngestReport` (each row read is
either an example or counted invalid: nothing is lost silently).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from tuneahead.data.example import Example
from tuneahead.data.formats import detect_format, normalize, resolve_format, undetectable
from tuneahead.data.readers import SUPPORTED_EXTENSIONS, DataFile, PathLike, discover_files, iter_file_rows
from tuneahead.errors import DataError, EmptyDatasetError, InputError, Location


@dataclass
class IngestReport:
    """What a load read and what it made of it."""

    MAX_SAMPLES: ClassVar[int] = 20

    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    examples: int = 0
    invalid: int = 0
    invalid_samples: list[dict[str, Any]] = field(default_factory=list)  # first MAX_SAMPLES: location, reason
    format: str = ""  # the format of every example, "mixed" when files differ, "" when none was read
    format_counts: dict[str, int] = field(default_factory=dict)  # examples per source format
    skipped_files: list[str] = field(default_factory=list)  # files in folders with unsupported extensions
    stopped_at_limit: bool = False  # True when `limit` ended the read before the data did

    def record_invalid(self, error: DataError) -> None:
        self.invalid += 1
        if len(self.invalid_samples) < self.MAX_SAMPLES:
            self.invalid_samples.append(
                {
                    "location": str(error.location) if error.location else "",
                    "reason": error.message,
                }
            )

    def skipped_note(self, shown: int = 3) -> str:
        """Files in a data folder that were not read, in words ("" when none), so none vanishes unseen."""
        if not self.skipped_files:
            return ""
        names = ", ".join(self.skipped_files[:shown]) + (" …" if len(self.skipped_files) > shown else "")
        return f"not read: {len(self.skipped_files)} file(s) in the data folder with an unsupported extension ({names})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def iter_examples(
    paths: PathLike | Sequence[PathLike],
    *,
    format: str = "auto",
    skip_invalid: bool = False,
    report: IngestReport | None = None,
    limit: int | None = None,
) -> Iterator[Example]:
    """Stream normalised examples from files and folders (JSONL, JSON, CSV/TSV, Parquet, .gz text).

    Paths and the format name are checked now (DataError for a missing path or unsupported file);
    rows are read lazily as the iterator is consumed. `report`, when given, is filled in as rows are
    read. Raises EmptyDatasetError when the data is exhausted without one valid example.
    """
    forced = resolve_format(format)
    if limit is not None and limit < 1:
        raise InputError(f"limit must be a positive number of examples, got {limit}", Location(field="limit"))
    files, skipped = discover_files(paths)
    report = report if report is not None else IngestReport()
    report.files = [f.label for f in files]
    report.skipped_files = skipped
    if not files:
        raise EmptyDatasetError(
            "no data files found here",
            Location(file=_describe(paths)),
            hint="supported extensions: " + ", ".join(SUPPORTED_EXTENSIONS),
        )
    return _generate(files, forced, skip_invalid, report, limit, paths)


def load_examples(
    paths: PathLike | Sequence[PathLike],
    *,
    format: str = "auto",
    skip_invalid: bool = False,
    limit: int | None = None,
) -> tuple[list[Example], IngestReport]:
    """All examples in memory, with the report. For data that fits in memory; prefer `iter_examples`."""
    report = IngestReport()
    examples = list(
        iter_examples(paths, format=format, skip_invalid=skip_invalid, report=report, limit=limit)
    )
    return examples, report


def _generate(
    files: list[DataFile],
    forced: str | None,
    skip_invalid: bool,
    report: IngestReport,
    limit: int | None,
    paths: PathLike | Sequence[PathLike],
) -> Iterator[Example]:
    def on_row_error(error: DataError) -> None:  # rows the reader could not even parse
        report.rows_read += 1
        report.record_invalid(error)

    for data_file in files:
        fmt = forced or data_file.format  # the user's --format, else the recipe's for this dataset, else detected
        detected_at: Location | None = None
        for location, row in iter_file_rows(data_file, on_error=on_row_error if skip_invalid else None):
            report.rows_read += 1
            if data_file.columns or data_file.roles:
                row = remap_row(row, dict(data_file.columns), dict(data_file.roles))
            try:
                row_format = fmt or detect_format(row)
                if row_format is None:
                    raise undetectable(row, location)
                example = normalize(row, row_format, f"{data_file.name}:{location.ref}", location)
            except DataError as error:
                if detected_at is not None and error.hint is None and detect_format(row) != fmt:
                    error.hint = (
                        f"format '{fmt}' was detected from {detected_at}; "
                        "if rows differ in format, split them into files or set the format explicitly"
                    )
                if not skip_invalid:
                    raise
                report.record_invalid(error)
                continue
            if fmt is None:  # lock this file's format on its first valid row
                fmt, detected_at = row_format, location
            _count(report, example.source_format)
            yield example
            if limit is not None and report.examples >= limit:
                report.stopped_at_limit = True
                return

    if report.examples == 0:
        if report.rows_read == 0:
            message = f"no rows found ({len(files)} file(s) read)"
        else:
            first = report.invalid_samples[0] if report.invalid_samples else None
            message = f"no valid example: {report.rows_read} row(s) read, all invalid"
            if first:
                message += f"; first problem: {first['location']}: {first['reason']}"
        raise EmptyDatasetError(message, Location(file=_describe(paths)))


def remap_row(row: dict[str, Any], columns: dict[str, str], roles: dict[str, str]) -> dict[str, Any]:
    """The row under the format's own keys, as the recipe's column mapping says (see `DatasetRef`)."""
    out = dict(row)
    source = columns.get("messages")
    turns = row.get(source or "messages")
    if isinstance(turns, list) and (source or roles or "role" in columns or "content" in columns):
        role_key, content_key = columns.get("role", "role"), columns.get("content", "content")
        out.pop(source or "messages", None)
        out["messages"] = [
            {"role": roles.get(str(t.get(role_key)), t.get(role_key)), "content": t.get(content_key)}
            if isinstance(t, dict) else t
            for t in turns
        ]
    for ours, theirs in columns.items():
        if ours not in ("messages", "role", "content") and theirs in row:
            value = out.pop(theirs)
            out[ours] = value
    return out


def examples_from_rows(
    rows: Iterable[Mapping[str, Any]],
    source: str,
    *,
    format: str = "auto",
    report: IngestReport | None = None,
) -> Iterator[Example]:
    """Normalise in-memory rows (a Hugging Face `Dataset`, a list of dicts) into examples.

    `source` names the rows in messages and example ids ("train_dataset" -> "train_dataset:row 3");
    the format is detected from the first row unless given. Columns a trainer added (input_ids,
    labels, ...) are ignored by the format readers. A bad row is a DataError naming its row number.
    """
    fmt = resolve_format(format)
    report = report if report is not None else IngestReport()
    report.files = [source]
    for number, row in enumerate(rows, start=1):
        report.rows_read += 1
        location = Location(file=source, line=number)
        row_format = fmt or detect_format(row)
        if row_format is None:
            raise undetectable(row, location)
        example = normalize(row, row_format, f"{source}:{number}", location)
        fmt = fmt or row_format
        _count(report, example.source_format)
        yield example
    if report.examples == 0:
        raise EmptyDatasetError("no rows", Location(file=source))


def _count(report: IngestReport, source_format: str) -> None:
    report.examples += 1
    counts = report.format_counts
    counts[source_format] = counts.get(source_format, 0) + 1
    if not report.format:
        report.format = source_format
    elif report.format != source_format:
        report.format = "mixed"


def _describe(paths: PathLike | Sequence[PathLike]) -> str:
    items = [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") else list(paths)  # type: ignore[arg-type]
    names = [str(getattr(p, "path", p)) for p in items]
    return (
        names[0]
        if len(names) == 1
        else f"{len(names)} paths ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
    )


def load_recipe_data(
    recipe,
    data: Sequence[PathLike] | None = None,
    eval_data: Sequence[PathLike] | None = None,
    *,
    data_format: str = "auto",
    skip_invalid: bool = False,
) -> tuple[list[Example], list[Example] | None]:
    """Training and eval examples for a recipe: the given files, else the recipe's own datasets.

    The recipe's first dataset format applies when the data come from the recipe and no format is given.
    """
    # The recipe's datasets travel whole: each names its path and its split (a DatasetDict's, a hub dataset's).
    train_paths: list = [str(p) for p in data] if data else list(recipe.datasets)
    if not train_paths:
        raise InputError("no training data given", hint="pass --data FILE (or list datasets in the recipe)")
    eval_paths: list = [str(p) for p in eval_data] if eval_data else list(recipe.eval_datasets)
    if not data:
        _check_recipe_paths(recipe, "datasets")
    if not eval_data:
        _check_recipe_paths(recipe, "eval_datasets")
    try:
        train, _ = load_examples(train_paths, format=data_format, skip_invalid=skip_invalid)
        evals = load_examples(eval_paths, skip_invalid=skip_invalid)[0] if eval_paths else None
    except DataError as exc:
        raise _at_recipe_key(exc, recipe) from None
    return train, evals


# The key each framework's config names its datasets under, for messages about a dataset it points at.
_DATASET_KEYS = {
    "axolotl": {"datasets": "datasets[{i}].path", "eval_datasets": "test_datasets[{i}].path"},
    "llamafactory": {"datasets": "dataset", "eval_datasets": "eval_dataset"},
    "trl": {"datasets": "dataset_name", "eval_datasets": "dataset_name"},
}


def _recipe_key(recipe, field: str, i: int) -> str:
    return _DATASET_KEYS.get(recipe.source.framework, {}).get(field, f"{field}[{{i}}].path").format(i=i)


def _at_recipe_key(exc: DataError, recipe) -> DataError:
    """A hub dataset the reader could not find in the local cache: name the recipe key that points at it."""
    where = exc.location.file if exc.location else None
    for side in ("datasets", "eval_datasets"):
        for i, ref in enumerate(getattr(recipe, side)):
            if ref.path == where and not os.path.exists(os.path.expanduser(ref.path)):
                return DataError(exc.message, Location(file=recipe.source.path, field=_recipe_key(recipe, side, i)),
                                 hint=exc.hint)
    return exc


def _check_recipe_paths(recipe, field: str) -> None:
    """A dataset the recipe names that is not on disk: say which recipe key points at it. A hub id is looked
    up in the local Hugging Face cache by the reader (which says where it looked; see `_at_recipe_key`)."""
    from tuneahead.data.hf_datasets import looks_like_hub_id

    for i, ref in enumerate(getattr(recipe, field)):
        if os.path.exists(os.path.expanduser(ref.path)) or looks_like_hub_id(ref.path):
            continue
        key = _recipe_key(recipe, field, i)
        raise DataError(
            f"the dataset {ref.path!r} that {key} names does not exist",
            Location(file=recipe.source.path, field=key),
            hint="fix the path in the recipe (relative paths start at the recipe's folder), or pass --data",
        )
