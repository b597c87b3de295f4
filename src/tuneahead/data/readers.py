"""Stream raw rows out of local data files: JSON Lines, JSON, CSV/TSV and Parquet, or folders of them.

Every reader yields `(location, row)` pairs, one row at a time, so memory stays bounded by one row
(plus one read buffer or one Parquet batch) whatever the file size:

- JSON Lines (`.jsonl`, `.ndjson`): line by line; location = 1-based line.
- CSV / TSV: record by record; location = 1-based physical line where the record starts (quoted
  fields may span lines). Cells holding a JSON list of objects (a `messages` column, say) are parsed.
- JSON (`.json`): an array of objects, or an object holding one list of objects (`{"data": [...]}`),
  parsed incrementally item by item with the standard library's `raw_decode` over a sliding buffer;
  location = line where the item starts plus its 0-based index ("train.json:240 (item #17)"). JSON is
  always streamed (no "small file" shortcut): memory is a 64 KiB read buffer, grown only while one
  longer item is parsed. A `.json` file that holds JSON Lines (a common mix-up) is read as JSON Lines.
- Parquet: `ParquetFile.iter_batches`; location = 0-based row index ("data.parquet (row #302)").
- `.gz` variants of the text formats are decompressed on the fly.

Text must be UTF-8 (a leading BOM is accepted). Errors confined to one row (bad JSON line, non-UTF-8
line, a row that is not an object) go to `on_error` when given, so a caller can skip and count them;
errors that break a whole file (unreadable Parquet, JSON syntax inside an array) always raise.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tuneahead.errors import DataError, Location
from tuneahead.paths import PathLike

try:  # orjson parses faster when it is installed; the standard library is the fallback.
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None



class DatasetSource(Protocol):
    """A dataset as a recipe names it (`tuneahead.recipe.model.DatasetRef`): where, which split, how read."""

    path: str
    split: str | None
    format: str
    columns: dict[str, str]
    roles: dict[str, str]


DataPath = PathLike | DatasetSource
Row = dict[str, Any]
ErrorHandler = Callable[[DataError], None]

_KINDS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".arrow": "arrow",  # Arrow IPC, as Hugging Face `datasets` writes its files
}
_COMPRESSIBLE = ("jsonl", "json", "csv", "tsv")
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_KINDS) + tuple(
    f"{ext}.gz" for ext, kind in _KINDS.items() if kind in _COMPRESSIBLE
)

_CHUNK = 1 << 16  # bytes per read for the incremental JSON parser
# One row holds at most this much text (a conversation of a million tokens is about 4 MiB). A longer row
# is refused (skipped and counted with --skip-invalid) before it is parsed, so memory stays bounded by
# one row whatever the file holds.
MAX_ROW_BYTES = 8 * 2**20
_PARQUET_BATCH = 4096  # rows per Parquet batch: small enough for long-text rows, large enough to be fast
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class RowLocation(Location):
    """A `Location` that also knows a row's 0-based index, for files where lines do not name rows.

    `line` stays a physical line number (or None for Parquet), so `to_dict()` never passes an index
    off as a line.
    """

    index: int | None = None
    unit: str = "row"  # what `index` counts: "item" (JSON array element) or "row" (Parquet)

    @property
    def ref(self) -> str:
        """Stable, readable suffix for example ids: "17" (line 17) or "#17" (row/item index 17)."""
        return f"#{self.index}" if self.index is not None else str(self.line)

    def __str__(self) -> str:
        if self.index is None:
            return super().__str__()
        where = self.file or "<data>"
        if self.line is not None:
            where += f":{self.line}"
        where += f" ({self.unit} #{self.index})"
        return where + (f", field '{self.field}'" if self.field else "")


@dataclass(frozen=True)
class DataFile:
    """One file to read: its path, the short name used in example ids, and how to parse it."""

    path: Path
    name: str  # relative to the folder it was found in, or the base name; unique within one load
    kind: str  # "jsonl" | "json" | "csv" | "tsv" | "parquet" | "arrow"
    compressed: bool = False
    # The recipe's column mapping for this dataset: (format key, data key) pairs and (data role, role) pairs.
    columns: tuple[tuple[str, str], ...] = ()
    roles: tuple[tuple[str, str], ...] = ()
    format: str | None = None  # the recipe's format for this dataset (None: detected)

    @property
    def label(self) -> str:
        """How errors name the file: the path as the user spelled it (joined with folder-relative parts)."""
        return str(self.path)


def file_kind(path: Path) -> tuple[str, bool] | None:
    """`(kind, gzip-compressed)` for a supported file name, else None."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    kind = _KINDS.get(suffixes[-1])
    if kind is None or (compressed and kind not in _COMPRESSIBLE):
        return None
    return kind, compressed


def _unsupported(path: Path) -> DataError:
    return DataError(
        "unsupported file type",
        Location(file=str(path)),
        hint="supported extensions: " + ", ".join(SUPPORTED_EXTENSIONS),
    )


def _walk(root: Path) -> list[Path]:
    """Files under `root` (relative to it), sorted, without hidden files or hidden folders (.git, ...)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune: never descend into them
        base = Path(dirpath).relative_to(root)
        found.extend(base / f for f in filenames if not f.startswith("."))
    return sorted(found)


def discover_files(paths: DataPath | Sequence[DataPath]) -> tuple[list[DataFile], list[str]]:
    """Expand files and folders into the data files to read, in a stable order.

    Folders are searched recursively in sorted order, skipping hidden files and folders. A folder that
    Hugging Face `datasets` wrote (`save_to_disk` of a Dataset, or of a DatasetDict: the split the item
    names, default "train") is read as that dataset, and a hub dataset id that is no local path is looked
    up in the local Hugging Face caches (never downloaded). An item may be a path or anything with
    `.path` and `.split` (a recipe's dataset). Returns the files and the paths of files in folders that
    were skipped for an unsupported extension (an explicitly named file with an unsupported extension is
    an error instead).
    """
    from tuneahead.data import hf_datasets

    items: list[DataPath] = [paths] if isinstance(paths, (str, os.PathLike)) or hasattr(paths, "path") else list(paths)  # type: ignore[list-item,arg-type]
    if not items:
        raise DataError("no data path given")
    found: list[tuple[Path, str, tuple[str, bool]]] = []
    skipped: list[str] = []
    mapping: dict[int, tuple[tuple, tuple, str | None]] = {}  # index in `found` -> the recipe's reading of it
    for entry in items:
        start = len(found)
        split: str | None = None
        columns: tuple[tuple[str, str], ...] = ()
        roles: tuple[tuple[str, str], ...] = ()
        fmt: str | None = None
        if isinstance(entry, (str, os.PathLike)):
            item: str | os.PathLike[str] = entry
        else:  # a recipe's dataset: its split, column mapping and format come along
            split = entry.split
            columns, roles = tuple(sorted(entry.columns.items())), tuple(sorted(entry.roles.items()))
            fmt = None if entry.format == "auto" else entry.format
            item = entry.path
        path = Path(item).expanduser()
        # os.path's tests never raise (Path's do, for a name too long for the file system).
        saved = hf_datasets.saved_dataset_files(path, split) if os.path.isdir(path) else None
        if saved is None and not os.path.exists(path) and hf_datasets.looks_like_hub_id(str(item)):
            saved = hf_datasets.cached_hub_dataset_files(str(item), split)
        if saved is not None:
            found.extend((f, f.name if len(saved) == 1 else str(f), file_kind(f) or ("arrow", False)) for f in saved)
        elif os.path.isdir(path):
            for child in _walk(path):
                full = path / child
                kind = file_kind(full)
                if kind is None:
                    skipped.append(str(full))
                else:
                    found.append((full, child.as_posix(), kind))
        elif os.path.isfile(path):
            kind = file_kind(path)
            if kind is None:
                raise _unsupported(path)
            found.append((path, path.name, kind))
        else:
            raise DataError(_missing_reason(path), Location(file=str(item)))
        if columns or roles or fmt:
            for i in range(start, len(found)):
                mapping[i] = (columns, roles, fmt)

    # Drop repeats of one file (given twice, or inside two given folders), keeping the first.
    seen: set[Path] = set()
    unique: list[tuple[Path, str, tuple[str, bool], tuple[tuple, tuple, str | None]]] = []
    for i, (full, name, kind) in enumerate(found):
        key = full.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((full, name, kind, mapping.get(i, ((), (), None))))
    # Short names keep ids readable; two different files with one short name fall back to full paths.
    clashes = {name for name, n in Counter(name for _, name, _, _ in unique).items() if n > 1}
    files = [
        DataFile(full, str(full) if name in clashes else name, kind, compressed, columns, roles, fmt)
        for full, name, (kind, compressed), (columns, roles, fmt) in unique
    ]
    return files, skipped


def _missing_reason(path: Path) -> str:
    """Why a path that is neither a file nor a folder cannot be read, in the words that help."""
    import errno

    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "this path is a loop of symbolic links"
        if exc.errno == errno.EACCES:
            return "permission denied"
        if path.is_symlink():
            return f"a symbolic link to {os.readlink(path)!r}, which does not exist"
        return "no such file or folder"
    return "not a regular file or folder (a device, pipe or socket)"


def iter_rows(
    paths: PathLike | Sequence[PathLike], *, on_error: ErrorHandler | None = None
) -> Iterator[tuple[RowLocation, Row]]:
    """Rows of every data file under `paths`, in order (see `discover_files`)."""
    files, _ = discover_files(paths)
    for data_file in files:
        yield from iter_file_rows(data_file, on_error=on_error)


def iter_file_rows(
    data_file: DataFile, *, on_error: ErrorHandler | None = None
) -> Iterator[tuple[RowLocation, Row]]:
    """Rows of one file. Row-level problems go to `on_error` (raised when it is None)."""
    report: ErrorHandler = on_error if on_error is not None else _raise
    try:
        if data_file.kind == "jsonl":
            yield from _read_jsonl(data_file, report)
        elif data_file.kind == "arrow":
            yield from _read_arrow(data_file)
        elif data_file.kind == "json":
            yield from _read_json(data_file, report)
        elif data_file.kind in ("csv", "tsv"):
            yield from _read_csv(data_file, report, "\t" if data_file.kind == "tsv" else ",")
        else:
            yield from _read_parquet(data_file, report)
    except (OSError, EOFError, zlib.error) as exc:  # unreadable file, corrupt or truncated gzip stream
        raise DataError(f"cannot read file: {exc}", Location(file=data_file.label)) from exc


def _raise(error: DataError) -> None:
    raise error


def _open(data_file: DataFile) -> io.BufferedIOBase:
    if data_file.compressed:
        return gzip.open(data_file.path, "rb")
    return open(data_file.path, "rb")


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _utf8_error(raw: bytes, exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"


# ---------------------------------------------------------------------------------------------- JSONL


def _loads_line(raw: bytes) -> Any:
    """Parse one JSON text; raises UnicodeDecodeError or ValueError (with the stdlib's precise message)."""
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass  # re-parse below: tells bad UTF-8 from bad JSON and accepts what json accepts (NaN, big ints)
    return json.loads(raw.decode("utf-8"))


def _too_long(loc: Location) -> DataError:
    return DataError(
        f"this row is longer than {MAX_ROW_BYTES // 2**20} MiB, the most one example may hold",
        loc,
        hint="split the document into several examples, or leave it out (--skip-invalid counts and skips it)",
    )


def _bounded_lines(fh: io.BufferedIOBase) -> Iterator[bytes | None]:
    """The file's lines, each at most MAX_ROW_BYTES; a longer line is read past (never held) and
    yields None in its place."""
    while True:
        raw = fh.readline(MAX_ROW_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_ROW_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = fh.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield raw


def _read_jsonl(data_file: DataFile, report: ErrorHandler) -> Iterator[tuple[RowLocation, Row]]:
    label = data_file.label
    with _open(data_file) as fh:
        for lineno, raw in enumerate(_bounded_lines(fh), 1):
            if raw is None:
                report(_too_long(RowLocation(label, lineno)))
                continue
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if raw.isspace() or not raw:
                continue  # blank lines (a trailing newline, say) hold no row
            loc = RowLocation(label, lineno)
            try:
                row = _loads_line(raw)
            except UnicodeDecodeError as exc:
                report(DataError(_utf8_error(raw, exc), loc, hint="save the file as UTF-8"))
                continue
            except (ValueError, RecursionError) as exc:
                report(DataError(f"invalid JSON: {exc}", loc))
                continue
            if not isinstance(row, dict):
                report(DataError(f"expected a JSON object on each line, got a JSON {_type_name(row)}", loc))
                continue
            yield loc, row


# ------------------------------------------------------------------------------------------------ CSV


def _csv_cell(value: str) -> Any:
    """A cell that holds a JSON list of objects (a `messages` column, say) becomes that list.

    Only lists of objects are converted: a completion that happens to read "[1, 2]" stays text.
    """
    if not value or value[0] != "[":
        return value
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return value
    if isinstance(parsed, list) and parsed and all(isinstance(item, dict) for item in parsed):
        return parsed
    return value


def _read_csv(data_file: DataFile, report: ErrorHandler, delimiter: str) -> Iterator[tuple[RowLocation, Row]]:
    label = data_file.label
    bad_lines: list[int] = []  # physical lines that were not UTF-8, decoded with replacement characters

    def lines(fh: io.BufferedIOBase) -> Iterator[str]:
        for lineno, raw in enumerate(_bounded_lines(fh), 1):
            if raw is None:  # a CSV reader cannot resynchronise past a skipped line: the file fails
                raise _too_long(Location(label, lineno))
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                bad_lines.append(lineno)
                yield raw.decode("utf-8", errors="replace")

    # Long texts exceed csv's default 128 KiB field limit; raise it (process-wide, harmless) to one row's.
    if csv.field_size_limit() < MAX_ROW_BYTES:
        csv.field_size_limit(MAX_ROW_BYTES)
    with _open(data_file) as fh:
        reader = csv.reader(lines(fh), delimiter=delimiter)
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field limit" in str(exc):  # a quoted field spanning many lines
                    raise _too_long(Location(label, start)) from None
                raise DataError(f"malformed CSV: {exc}", Location(label, reader.line_num)) from exc
            if not record:
                continue  # blank line
            broken = [n for n in bad_lines if n >= start]
            bad_lines.clear()
            loc = RowLocation(label, start)
            if header is None:
                if broken:
                    raise DataError("header is not valid UTF-8", loc, hint="save the file as UTF-8")
                header = [name.strip() for name in record]  # "prompt, completion" is a common spelling
                dupes = sorted({c for c in header if header.count(c) > 1})
                if dupes:
                    raise DataError(f"duplicate column name(s) in the header: {', '.join(dupes)}", loc)
                continue
            if broken:
                report(
                    DataError("not valid UTF-8", RowLocation(label, broken[0]), hint="save the file as UTF-8")
                )
                continue
            if len(record) != len(header):
                report(DataError(f"has {len(record)} fields but the header has {len(header)}", loc))
                continue
            yield loc, {key: _csv_cell(value) for key, value in zip(header, record)}


# -------------------------------------------------------------------------------------------- Parquet


def _read_parquet(data_file: DataFile, report: ErrorHandler) -> Iterator[tuple[RowLocation, Row]]:
    import pyarrow as pa  # lazy: keeps `tuneahead --help` fast
    import pyarrow.parquet as pq

    label = data_file.label
    index = 0
    try:
        parquet = pq.ParquetFile(data_file.path)
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH):
            for row in batch.to_pylist():
                yield RowLocation(label, None, index=index, unit="row"), row
                index += 1
    except pa.ArrowException as exc:
        where = Location(label) if index == 0 else RowLocation(label, None, index=index, unit="row")
        raise DataError(f"cannot read Parquet data: {exc}", where) from exc


def _read_arrow(data_file: DataFile) -> Iterator[tuple[RowLocation, Row]]:
    """An Arrow IPC file: the stream format `datasets` writes, or the random-access file format."""
    import pyarrow as pa

    label = data_file.label
    index = 0
    try:
        with pa.memory_map(str(data_file.path)) as source:
            try:
                batches = iter(pa.ipc.open_stream(source))
            except pa.ArrowInvalid:
                source.seek(0)
                reader = pa.ipc.open_file(source)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            for batch in batches:
                for row in batch.to_pylist():
                    yield RowLocation(label, None, index=index, unit="row"), row
                    index += 1
    except (pa.ArrowException, OSError) as exc:
        where = Location(label) if index == 0 else RowLocation(label, None, index=index, unit="row")
        raise DataError(f"cannot read Arrow data: {exc}", where) from exc


# ----------------------------------------------------------------------------------------------- JSON

# Keys that mark a top-level JSON object as a row itself (JSON Lines in a .json file, or a single
# example) rather than a wrapper such as {"data": [...]}: the fields the dataset formats are known by.
_ROW_KEYS = frozenset(
    {"messages", "conversations", "instruction", "input", "output", "prompt", "completion", "text", "history"}
)


class _JsonText:
    """UTF-8 text decoded incrementally from a binary stream, with a cursor and line tracking.

    Memory holds the unread text plus the value being parsed; consumed text is dropped on each read.
    """

    def __init__(self, fh: io.BufferedIOBase, label: str):
        self._fh = fh
        self._label = label
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.mark: int | None = None  # while set, text from here on is kept so the cursor can come back
        self.eof = False
        self._started = False
        self._line_pos = 0  # buffer index whose line number is `_line_no`
        self._line_no = 1

    def line_at(self, pos: int) -> int:
        """Line number of buffer index `pos`; O(distance) from the last query, so cheap when moving forward."""
        if pos >= self._line_pos:
            self._line_no += self.buf.count("\n", self._line_pos, pos)
        else:
            self._line_no -= self.buf.count("\n", pos, self._line_pos)
        self._line_pos = pos
        return self._line_no

    def more(self, size: int | None = None) -> bool:
        """Read and decode up to `size` more bytes; False at end of file."""
        if self.eof:
            return False
        keep = self.pos if self.mark is None else min(self.pos, self.mark)
        if keep:  # drop consumed text so memory stays bounded
            self.line_at(keep)
            self.buf = self.buf[keep:]
            self._line_pos = 0
            self.pos -= keep
            if self.mark is not None:
                self.mark -= keep
        data = self._fh.read(size or _CHUNK)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            line = self.line_at(len(self.buf)) + exc.object[: exc.start].count(b"\n")
            bad = exc.object[exc.start]
            raise DataError(
                f"not valid UTF-8 (byte 0x{bad:02x})",
                Location(self._label, line),
                hint="save the file as UTF-8",
            ) from exc
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        self.buf += text
        if not data:
            self.eof = True
        return bool(data) or bool(text)

    def peek(self) -> str:
        """Skip whitespace; the next character, or "" at end of file."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def peek_inside(self) -> str:
        """The first non-blank character after the current one (used to look into a list), without consuming."""
        while True:
            end = _WS.match(self.buf, self.pos + 1).end()  # type: ignore[union-attr]
            if end < len(self.buf):
                return self.buf[end]
            if not self.more():
                return ""

    def value(self, where: Location) -> Any:
        """Parse the JSON value at the cursor (after `peek`), reading more text until it is complete."""
        size = _CHUNK
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof and _maybe_truncated(exc, len(self.buf)):
                    if len(self.buf) - self.pos > MAX_ROW_BYTES:
                        raise _too_long(where) from None
                    self.more(size)
                    size *= 2  # geometric growth keeps re-parsing a long value linear overall
                    continue
                raise self.syntax_error(exc.msg, exc.pos, where) from exc
            except RecursionError as exc:
                raise DataError("JSON nested too deeply", where) from exc
            if end == len(self.buf) and not self.eof:
                self.more(size)  # a number at the buffer's end may continue in the next chunk
                size *= 2
                continue
            if end - self.pos > MAX_ROW_BYTES:
                raise _too_long(where)
            self.pos = end
            return obj

    def syntax_error(self, message: str, pos: int, where: Location) -> DataError:
        line = self.line_at(max(pos, self._line_pos))
        if isinstance(where, RowLocation):
            loc: Location = RowLocation(where.file, line, index=where.index, unit=where.unit)
        else:
            loc = Location(where.file, line)
        return DataError(f"invalid JSON: {message}", loc)


def _maybe_truncated(exc: json.JSONDecodeError, buffered: int) -> bool:
    # A value cut by the buffer's end fails at (or a few characters before) that end, or as an
    # unterminated string; any other failure is a real syntax error and is reported without reading on.
    return exc.pos >= buffered - 8 or exc.msg.startswith("Unterminated string")


def _read_json(data_file: DataFile, report: ErrorHandler) -> Iterator[tuple[RowLocation, Row]]:
    label = data_file.label
    with _open(data_file) as fh:
        text = _JsonText(fh, label)
        first = text.peek()
        if first == "":
            return  # an empty file holds no rows
        if first == "[":
            yield from _json_array(text, label, report)
        elif first == "{":
            yield from _json_object(text, label, report)
        else:
            raise DataError(
                "a JSON data file must hold an array of objects, or an object holding one list of them",
                Location(label, text.line_at(text.pos)),
            )
        if text.peek() != "":
            raise text.syntax_error("unexpected data after the top-level value", text.pos, Location(label))


def _json_array(text: _JsonText, label: str, report: ErrorHandler) -> Iterator[tuple[RowLocation, Row]]:
    """Items of the array at the cursor, one at a time."""
    text.pos += 1  # "["
    if text.peek() == "]":
        text.pos += 1
        return
    index = 0
    while True:
        if text.peek() == "":
            raise DataError("file ends inside a JSON array", Location(label, text.line_at(text.pos)))
        loc = RowLocation(label, text.line_at(text.pos), index=index, unit="item")
        item = text.value(loc)
        if isinstance(item, dict):
            yield loc, item
        else:
            report(DataError(f"expected a JSON object, got a JSON {_type_name(item)}", loc))
        index += 1
        sep = text.peek()
        if sep == ",":
            text.pos += 1
        elif sep == "]":
            text.pos += 1
            return
        elif sep == "":
            raise DataError(
                "file ends inside a JSON array: is it truncated?", Location(label, text.line_at(text.pos))
            )
        else:
            raise text.syntax_error("expected ',' or ']' after an array item", text.pos, loc)


def _json_object(text: _JsonText, label: str, report: ErrorHandler) -> Iterator[tuple[RowLocation, Row]]:
    """A top-level object: a wrapper such as {"data": [...]}, or a row (then more rows may follow)."""
    text.mark = text.pos  # look ahead, then come back to the "{"
    is_row = _looks_like_row(text, label)
    text.pos, text.mark = text.mark, None
    if is_row:
        yield from _json_row_stream(text, label)
        return
    text.pos += 1  # "{"
    rows_key: str | None = None
    while True:
        ch = text.peek()
        if ch == "}":
            text.pos += 1
            break
        if ch != '"':
            raise text.syntax_error("expected a key", text.pos, Location(label))
        key = text.value(Location(label))
        if text.peek() != ":":
            raise text.syntax_error("expected ':' after a key", text.pos, Location(label))
        text.pos += 1
        if text.peek() == "[" and text.peek_inside() == "{":
            if rows_key is not None:
                raise DataError(
                    f"holds more than one list of rows ('{rows_key}' and '{key}')",
                    Location(label, text.line_at(text.pos)),
                    hint="put each split in its own file",
                )
            rows_key = key
            yield from _json_array(text, label, report)
        else:
            text.value(Location(label, text.line_at(text.pos)))  # metadata such as "version": skipped
        if text.peek() == ",":
            text.pos += 1
        elif text.peek() != "}":
            raise text.syntax_error("expected ',' or '}'", text.pos, Location(label))


def _looks_like_row(text: _JsonText, label: str) -> bool:
    """Scan the keys of the object at the cursor, up to the first list of objects.

    A row announces itself by a dataset field (`messages`, `text`, ...). A wrapper holds a list of
    objects under another key, or only empty lists ({"data": []}: no rows). Anything else is read as a
    row, so that loading reports which keys it has. Only the scanned prefix is held in memory.
    """
    where = Location(label)
    text.pos += 1  # "{"
    saw_empty_list = False
    while text.peek() == '"':
        key = text.value(where)
        if key in _ROW_KEYS:
            return True
        if text.peek() != ":":
            return True  # malformed: the row parser reports the syntax error
        text.pos += 1
        if text.peek() == "[":
            inside = text.peek_inside()
            if inside == "{":
                return False
            saw_empty_list = saw_empty_list or inside == "]"
        text.value(where)
        if text.peek() != ",":
            break
        text.pos += 1
    return not saw_empty_list


def _json_row_stream(text: _JsonText, label: str) -> Iterator[tuple[RowLocation, Row]]:
    """Objects one after another (JSON Lines in a .json file, or one single row); ids use lines."""
    while text.peek() == "{":
        loc = RowLocation(label, text.line_at(text.pos))
        yield loc, text.value(loc)
