"""Raw row readers: file discovery, every file type, locations, encodings and streaming JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuneahead.data import readers
from tuneahead.data.readers import (
    SUPPORTED_EXTENSIONS,
    DataFile,
    RowLocation,
    discover_files,
    file_kind,
    iter_file_rows,
    iter_rows,
)
from tuneahead.errors import DataError, Location

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def rows(path, **kwargs):
    return list(iter_rows(path, **kwargs))


def collect_errors():
    errors: list[DataError] = []
    return errors, errors.append


# ------------------------------------------------------------------------------------------ discovery


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.jsonl", ("jsonl", False)),
        ("a.NDJSON", ("jsonl", False)),
        ("a.v2.json", ("json", False)),
        ("a.csv", ("csv", False)),
        ("a.tsv", ("tsv", False)),
        ("a.parquet", ("parquet", False)),
        ("a.jsonl.gz", ("jsonl", True)),
        ("a.json.gz", ("json", True)),
        ("a.csv.gz", ("csv", True)),
        ("a.parquet.gz", None),
        ("a.txt", None),
        ("a.gz", None),
        ("README", None),
    ],
)
def test_file_kind(name, expected):
    assert file_kind(Path(name)) == expected


def test_folder_is_sorted_recursive_and_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".cache").mkdir()
    for rel in [
        "z.jsonl",
        "a.csv",
        "b/c.parquet",
        "b/a.json",
        ".hidden.jsonl",
        ".cache/x.jsonl",
        "notes.txt",
    ]:
        (tmp_path / rel).write_text("")
    files, skipped = discover_files(tmp_path)
    assert [f.name for f in files] == ["a.csv", "b/a.json", "b/c.parquet", "z.jsonl"]
    assert [f.kind for f in files] == ["csv", "json", "parquet", "jsonl"]
    assert files[1].label == str(tmp_path / "b" / "a.json")
    assert skipped == [str(tmp_path / "notes.txt")]


def test_explicit_unsupported_file_lists_supported_extensions(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("hello")
    with pytest.raises(DataError) as info:
        discover_files(path)
    assert info.value.location.file == str(path)
    for ext in (".jsonl", ".json", ".csv", ".parquet"):
        assert ext in info.value.hint
    assert set(SUPPORTED_EXTENSIONS) >= {".jsonl", ".json", ".csv", ".parquet", ".jsonl.gz"}


def test_missing_path_is_named(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DataError, match="no such file or folder") as info:
        discover_files([FIXTURES / "text.jsonl", missing])
    assert str(missing) in str(info.value)


def test_no_path_given():
    with pytest.raises(DataError, match="no data path"):
        discover_files([])


def test_same_file_twice_is_read_once_and_name_clashes_use_full_paths(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    for folder in ("x", "y"):
        (tmp_path / folder / "train.jsonl").write_text('{"text": "a"}\n')
    files, _ = discover_files(
        [tmp_path / "x" / "train.jsonl", tmp_path / "x", tmp_path / "y" / "train.jsonl"]
    )
    assert len(files) == 2
    assert [f.name for f in files] == [
        str(tmp_path / "x" / "train.jsonl"),
        str(tmp_path / "y" / "train.jsonl"),
    ]


def test_row_location_str_and_ref():
    assert str(RowLocation("a.jsonl", 17)) == "a.jsonl:17" == str(Location("a.jsonl", 17))
    assert RowLocation("a.jsonl", 17).ref == "17"
    item = RowLocation("a.json", 240, index=17, unit="item", field="messages[0].role")
    assert str(item) == "a.json:240 (item #17), field 'messages[0].role'"
    assert item.ref == "#17"
    assert str(RowLocation("d.parquet", None, index=3, unit="row")) == "d.parquet (row #3)"
    assert isinstance(item, Location)


# ---------------------------------------------------------------------------------------------- JSONL


def test_jsonl_lines_are_one_based_and_blank_lines_skipped():
    got = rows(FIXTURES / "messages.jsonl")
    assert [loc.line for loc, _ in got] == [1, 2, 4]
    assert got[0][1]["id"] == "m-1"
    assert got[0][0].file == str(FIXTURES / "messages.jsonl")


def test_jsonl_bom_and_crlf(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "a"}\r\n{"text": "b"}\r\n')
    assert [row["text"] for _, row in rows(path)] == ["a", "b"]


def test_jsonl_bad_json_line_raises_with_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b",}\n{"text": "c"}\n')
    with pytest.raises(DataError, match="invalid JSON") as info:
        rows(path)
    assert info.value.location.line == 2
    assert str(info.value).startswith(f"{path}:2:")


def test_jsonl_row_errors_go_to_handler_and_reading_continues(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"text": "a"}\n[1, 2]\n{"text": "caf\xe9"}\n{oops\n{"text": "d"}\n')
    errors, handler = collect_errors()
    got = rows(path, on_error=handler)
    assert [loc.line for loc, _ in got] == [1, 5]
    assert [(e.location.line, e.message.split(" (")[0]) for e in errors] == [
        (2, "expected a JSON object on each line, got a JSON array"),
        (3, "not valid UTF-8"),
        (4, "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2"),
    ]
    assert "0xe9" in errors[1].message


def test_jsonl_non_utf8_raises_naming_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "ok"}\n{"text": "café"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8") as info:
        rows(path)
    assert (info.value.location.file, info.value.location.line) == (str(path), 2)


def test_gzip_jsonl(tmp_path):
    path = tmp_path / "data.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('{"text": "a"}\n{"text": "b"}\n')
    assert [(loc.line, row["text"]) for loc, row in rows(path)] == [(1, "a"), (2, "b")]


def test_corrupt_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read file"):
        rows(path)


def test_truncated_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "a"}\n' * 1000)[:-40])
    with pytest.raises(DataError, match="cannot read file") as info:
        rows(path)
    assert info.value.location.file == str(path)


def test_orjson_path_falls_back_to_stdlib_for_diagnosis(tmp_path, monkeypatch):
    """When orjson is installed its failures are re-parsed by json for a precise, lenient answer."""

    class FakeOrjson:  # behaves like orjson: strict UTF-8 and strict JSON, one error type
        JSONDecodeError = json.JSONDecodeError
        calls = 0

        @classmethod
        def loads(cls, data: bytes):
            cls.calls += 1
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise json.JSONDecodeError("str is not valid UTF-8", "", 0) from exc
            if "NaN" in text:
                raise json.JSONDecodeError("unexpected character", text, text.index("NaN"))
            return json.loads(text)

    monkeypatch.setattr(readers, "_orjson", FakeOrjson)
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"text": "a"}\n{"text": "b", "score": NaN}\n{"text": "\xff"}\n')
    errors, handler = collect_errors()
    got = rows(path, on_error=handler)
    assert [row["text"] for _, row in got] == ["a", "b"]
    assert FakeOrjson.calls == 3
    assert [e.location.line for e in errors] == [3] and "UTF-8" in errors[0].message


# ------------------------------------------------------------------------------------------------ CSV


def test_csv_multiline_record_reports_its_first_physical_line():
    got = rows(FIXTURES / "prompt_completion.csv")
    assert [loc.line for loc, _ in got] == [2, 3, 5]
    assert got[1][1]["completion"] == "first line\nsecond line"
    assert got[2][1]["prompt"] == 'Say "yes"'


def test_csv_json_cells_are_parsed_only_for_lists_of_objects(tmp_path):
    path = tmp_path / "chat.csv"
    messages = [{"role": "user", "content": "hi, there"}, {"role": "assistant", "content": "hello"}]
    path.write_text(
        "messages,note,other\n" + '"' + json.dumps(messages).replace('"', '""') + '","[1, 2]","[not json"\n',
        encoding="utf-8",
    )
    ((_, row),) = rows(path)
    assert row == {"messages": messages, "note": "[1, 2]", "other": "[not json"}


def test_csv_bad_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b'\xef\xbb\xbfprompt,completion\r\na,b\r\nc\r\n\r\n"caf\xe9\nmultiline",x\r\nd,e\r\n')
    errors, handler = collect_errors()
    got = rows(path, on_error=handler)
    assert [(loc.line, row) for loc, row in got] == [
        (2, {"prompt": "a", "completion": "b"}),
        (7, {"prompt": "d", "completion": "e"}),
    ]
    assert [(e.location.line, e.message) for e in errors] == [
        (3, "has 1 fields but the header has 2"),
        (5, "not valid UTF-8"),
    ]
    with pytest.raises(DataError, match="has 1 fields"):
        rows(path)


def test_csv_header_names_are_trimmed(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("prompt, completion\nsay,hi\n")
    assert rows(path)[0][1] == {"prompt": "say", "completion": "hi"}


def test_csv_duplicate_header(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("text,text\na,b\n")
    with pytest.raises(DataError, match="duplicate column"):
        rows(path)


def test_tsv_and_gzip_csv(tmp_path):
    tsv = tmp_path / "a.tsv"
    tsv.write_text("prompt\tcompletion\nx, y\tz\n")
    assert rows(tsv)[0][1] == {"prompt": "x, y", "completion": "z"}
    gz = tmp_path / "a.csv.gz"
    with gzip.open(gz, "wt", encoding="utf-8", newline="") as fh:
        fh.write("text\nhello\n")
    assert [(loc.line, row) for loc, row in rows(gz)] == [(2, {"text": "hello"})]


def test_csv_long_field_is_accepted(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("text\n" + "x" * 300_000 + "\n")
    assert len(rows(path)[0][1]["text"]) == 300_000


# -------------------------------------------------------------------------------------------- Parquet


def test_parquet_rows_with_nested_messages(tmp_path):
    path = tmp_path / "chat.parquet"
    table = pa.table(
        {
            "messages": [
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                [{"role": "user", "content": "bye"}, {"role": "assistant", "content": None}],
            ],
            "id": [10, 11],
        }
    )
    pq.write_table(table, path)
    got = rows(path)
    assert [loc.ref for loc, _ in got] == ["#0", "#1"]
    assert str(got[1][0]) == f"{path} (row #1)"
    assert got[0][1]["messages"][1] == {"role": "assistant", "content": "hello"}
    assert got[1][1]["id"] == 11


def test_parquet_batches_keep_counting(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_PARQUET_BATCH", 3)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": [str(i) for i in range(10)]}), path)
    got = rows(path)
    assert [loc.index for loc, _ in got] == list(range(10))
    assert [row["text"] for _, row in got] == [str(i) for i in range(10)]


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="Parquet") as info:
        rows(path)
    assert info.value.location.file == str(path)


# ----------------------------------------------------------------------------------------------- JSON


def test_json_array_items_have_index_and_line():
    got = rows(FIXTURES / "sharegpt.json")
    assert [(loc.index, loc.line, loc.unit) for loc, _ in got] == [(0, 2, "item"), (1, 9, "item")]
    assert got[1][1]["conversations"][3]["value"] == "4 °C"


def test_json_wrapper_object_skips_metadata():
    got = rows(FIXTURES / "alpaca.json")
    assert [row["output"] for _, row in got] == ["chat", "cold"]
    assert [loc.line for loc, _ in got] == [4, 5]


SAMPLE = {
    "meta": {"n": [1, 2.5e-3, -7, True, None]},
    "data": [
        {"text": "plain"},
        {"text": "unicode: é ü 你好 😀 \u00e9", "n": 12345678901234567890},
        {"text": 'escapes: \\" \\n \\t \\u0041 \\ud83d\\ude00', "nested": {"a": [{"b": "c"}]}},
        {"text": "x" * 500, "score": 1.5e10},
    ],
    "tail": "ignored",
}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 16])
def test_json_streaming_matches_json_load_at_any_chunk_boundary(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(readers, "_CHUNK", chunk)
    path = tmp_path / "w.json"
    path.write_text(json.dumps(SAMPLE, indent=2, ensure_ascii=False), encoding="utf-8")
    got = [row for _, row in rows(path)]
    assert got == json.loads(path.read_text(encoding="utf-8"))["data"]
    path.write_text(json.dumps(SAMPLE["data"], ensure_ascii=True), encoding="utf-8")  # one line, all ASCII
    assert [(loc.line, row) for loc, row in rows(path)] == [(1, row) for row in SAMPLE["data"]]


def test_json_lines_inside_a_json_file(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_CHUNK", 4)
    path = tmp_path / "lines.json"
    path.write_text('{"text": "a"}\n{"text": "b"}\n\n{"text": "c", "id": 3}\n')
    got = rows(path)
    assert [(loc.line, loc.index, row["text"]) for loc, row in got] == [
        (1, None, "a"),
        (2, None, "b"),
        (4, None, "c"),
    ]


def test_json_lines_with_leading_metadata_keys(tmp_path):
    path = tmp_path / "lines.json"
    first = {"id": 1, "system": "s", "messages": [{"role": "user", "content": "hi"}]}
    path.write_text(json.dumps(first) + "\n" + json.dumps({**first, "id": 2}) + "\n")
    assert [row["id"] for _, row in rows(path)] == [1, 2]


def test_json_wrapper_with_leading_metadata(tmp_path):
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"id": "ds-1", "tags": [], "names": ["a"], "rows": [{"text": "a"}], "n": 1}))
    assert [(loc.index, row) for loc, row in rows(path)] == [(0, {"text": "a"})]


def test_json_object_without_rows_is_read_as_one_row(tmp_path):
    path = tmp_path / "meta.json"
    path.write_text('{"version": 2, "names": ["a", "b"]}')
    assert [row for _, row in rows(path)] == [{"version": 2, "names": ["a", "b"]}]


def test_json_single_row_object(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}')
    assert len(rows(path)) == 1


@pytest.mark.parametrize("content", ["", "  \n", "[]", '{"data": []}', "\ufeff[ ]"])
def test_json_without_rows(tmp_path, content):
    path = tmp_path / "empty.json"
    path.write_text(content, encoding="utf-8")
    assert rows(path) == []


@pytest.mark.parametrize(
    "content, message, line",
    [
        ('[\n{"text": "a"},\n{"text": "b" "c"},\n{"text": "d"}]', "Expecting ',' delimiter", 3),
        ('[\n{"text": "a"},\n{"text": "b"}\n', "file ends inside a JSON array", 4),
        ('[{"text": "a"}] [', "unexpected data after the top-level value", 1),
        ('[\n{"text": "a"},\n]', "invalid JSON: Expecting value", 3),
        ('"just a string"', "must hold an array of objects", 1),
        ('{"train": [{"text": "a"}],\n "test": [{"text": "b"}]}', "more than one list of rows", 2),
    ],
)
def test_json_structure_errors(tmp_path, content, message, line):
    path = tmp_path / "bad.json"
    path.write_text(content)
    _, handler = collect_errors()
    with pytest.raises(DataError, match=message) as info:
        rows(path, on_error=handler)  # structural problems stop the file even when rows may be skipped
    assert info.value.location.file == str(path)
    assert info.value.location.line == line


def test_json_syntax_error_far_into_a_long_file_names_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_CHUNK", 256)
    path = tmp_path / "long.json"
    items = [json.dumps({"text": f"row {i}"}) for i in range(2000)]
    items[1500] = '{"text": "row 1500" oops}'
    path.write_text("[\n" + ",\n".join(items) + "\n]")
    with pytest.raises(DataError, match="invalid JSON") as info:
        rows(path)
    assert info.value.location.line == 1502
    assert info.value.location.index == 1500


def test_json_non_object_item_goes_to_handler(tmp_path):
    path = tmp_path / "items.json"
    path.write_text('[{"text": "a"}, 5, {"text": "b"}]')
    errors, handler = collect_errors()
    assert [row["text"] for _, row in rows(path, on_error=handler)] == ["a", "b"]
    assert [(e.location.index, e.message) for e in errors] == [(1, "expected a JSON object, got a JSON int")]


def test_json_non_utf8_names_line(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('[\n{"text": "a"},\n{"text": "é"}\n]'.encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8") as info:
        rows(path)
    assert info.value.location.line == 3


def test_gzip_json(tmp_path):
    path = tmp_path / "d.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"data": [{"text": "a"}, {"text": "b"}]}, fh)
    assert [row["text"] for _, row in rows(path)] == ["a", "b"]


def test_iter_file_rows_on_one_file():
    data_file = DataFile(FIXTURES / "text.jsonl", "text.jsonl", "jsonl")
    assert len(list(iter_file_rows(data_file))) == 2


# ----------------------------------------------------------------------------------- bounded rows


def _long_row(n_bytes: int) -> str:
    return json.dumps({"text": "x" * n_bytes})


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_a_row_over_the_limit_is_refused_with_its_line(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(readers, "MAX_ROW_BYTES", 1000)
    path = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        path.write_text(f'{{"text": "short"}}\n{_long_row(5000)}\n{{"text": "after"}}\n')
    elif suffix == ".json":
        path.write_text(f'[{{"text": "short"}},\n{_long_row(5000)},\n{{"text": "after"}}]\n')
    else:
        path.write_text("text\nshort\n" + "x" * 5000 + "\nafter\n")
    with pytest.raises(DataError, match="longer than") as err:
        rows(path)
    assert err.value.location.file == str(path) and err.value.location.line in (2, 3)


def test_a_long_jsonl_row_is_skipped_and_counted_without_being_held(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROW_BYTES", 1000)
    path = tmp_path / "data.jsonl"
    path.write_text(f'{{"text": "short"}}\n{_long_row(200_000)}\n{{"text": "after"}}\n')
    errors, handler = collect_errors()
    got = [row["text"] for _, row in rows(path, on_error=handler)]
    assert got == ["short", "after"]  # reading went on after the long line
    assert len(errors) == 1 and errors[0].location.line == 2


def test_the_row_limit_is_stated_and_generous():
    assert readers.MAX_ROW_BYTES >= 4 * 2**20  # a million-token conversation fits


def test_a_symlink_loop_is_not_reported_as_missing(tmp_path):
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    with pytest.raises(DataError, match="loop of symbolic links"):
        discover_files(loop)
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "gone.jsonl")
    with pytest.raises(DataError, match="symbolic link to .*gone.jsonl"):
        discover_files(dangling)


def test_files_skipped_in_a_folder_are_said(tmp_path):
    from tuneahead.data.load import load_examples

    (tmp_path / "train.jsonl").write_text('{"text": "a"}\n')
    (tmp_path / "notes.txt").write_text("not data")
    _, report = load_examples(tmp_path)
    assert report.skipped_files == [str(tmp_path / "notes.txt")]
    assert "notes.txt" in report.skipped_note() and "unsupported extension" in report.skipped_note()
