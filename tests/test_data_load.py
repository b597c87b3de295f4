"""Public ingestion API: detection per file, forced formats, folders, invalid rows, reports, streaming."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuneahead.data.example import Message
from tuneahead.data.load import IngestReport, iter_examples, load_examples
from tuneahead.errors import DataError, EmptyDatasetError, InputError

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def write_jsonl(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def chat_row(i: int) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"What is {i} + 1?"},
            {"role": "assistant", "content": str(i + 1)},
        ]
    }


# --------------------------------------------------------------------------------- every format, auto


@pytest.mark.parametrize(
    "name, fmt, ids",
    [
        ("messages.jsonl", "messages", ["messages.jsonl:1", "messages.jsonl:2", "messages.jsonl:4"]),
        ("sharegpt.json", "sharegpt", ["sharegpt.json:#0", "sharegpt.json:#1"]),
        ("alpaca.json", "alpaca", ["alpaca.json:#0", "alpaca.json:#1"]),
        (
            "prompt_completion.csv",
            "prompt_completion",
            ["prompt_completion.csv:2", "prompt_completion.csv:3", "prompt_completion.csv:5"],
        ),
        ("conversational_prompt_completion.jsonl", "conversational_prompt_completion", None),
        ("text.jsonl", "text", ["text.jsonl:1", "text.jsonl:2"]),
    ],
)
def test_fixture_formats_are_detected(name, fmt, ids):
    examples, report = load_examples(FIXTURES / name)
    assert report.format == fmt and report.format_counts == {fmt: len(examples)}
    assert all(e.source_format == fmt for e in examples)
    assert report.rows_read == report.examples == len(examples) > 0 and report.invalid == 0
    if ids:
        assert [e.id for e in examples] == ids


def test_fixture_contents_are_normalised():
    messages, _ = load_examples(FIXTURES / "messages.jsonl")
    assert messages[1].messages[0] == Message("user", "2 + 2 = ?")
    assert [e.meta["row_id"] for e in messages] == ["m-1", "m-2", "m-3"]
    sharegpt, _ = load_examples(FIXTURES / "sharegpt.json")
    assert [m.role for m in sharegpt[1].messages] == ["user", "assistant", "tool", "assistant"]
    alpaca, _ = load_examples(FIXTURES / "alpaca.json")
    assert alpaca[0].messages[0] == Message("user", "Translate to French.\ncat")
    assert alpaca[1].messages[0] == Message("system", "Be brief.")
    pc, _ = load_examples(FIXTURES / "prompt_completion.csv")
    assert (pc[1].prompt, pc[1].completion, pc[1].meta) == (
        "Write two lines:",
        "first line\nsecond line",
        {"row_id": "p-2"},
    )


def test_parquet_and_csv_with_json_cells(tmp_path):
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    pq.write_table(pa.table({"messages": [messages, messages]}), tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text('messages\n"' + json.dumps(messages).replace('"', '""') + '"\n')
    examples, report = load_examples(tmp_path)
    assert [e.id for e in examples] == ["a.parquet:#0", "a.parquet:#1", "b.csv:2"]
    assert all(e.messages[1] == Message("assistant", "hello") for e in examples)
    assert report.format == "messages"


def test_folder_with_mixed_file_types_and_formats():
    examples, report = load_examples(FIXTURES)
    assert [Path(f).name for f in report.files] == sorted(p.name for p in FIXTURES.iterdir())
    assert report.format == "mixed"
    assert report.format_counts == {
        "alpaca": 2,
        "conversational_prompt_completion": 2,
        "messages": 3,
        "prompt_completion": 3,
        "sharegpt": 2,
        "text": 2,
    }
    assert len({e.id for e in examples}) == len(examples) == report.examples == report.rows_read


def test_several_paths_and_sequence_input(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}])
    examples, report = load_examples([FIXTURES / "text.jsonl", str(tmp_path / "a.jsonl")])
    assert [e.id for e in examples] == ["text.jsonl:1", "text.jsonl:2", "a.jsonl:1"]
    assert len(report.files) == 2


# ------------------------------------------------------------------------------------------ forced


def test_forced_format_overrides_detection(tmp_path):
    path = write_jsonl(tmp_path / "both.jsonl", [{**chat_row(1), "text": "raw text"}])
    assert load_examples(path)[0][0].source_format == "messages"
    forced, report = load_examples(path, format="text")
    assert forced[0].completion == "raw text" and report.format == "text"


def test_forced_format_that_does_not_fit(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "a"}])
    with pytest.raises(DataError, match="missing field 'instruction'") as info:
        load_examples(path, format="alpaca")
    assert str(info.value).startswith(f"{path}:1, field 'instruction'")


@pytest.mark.parametrize(
    "name",
    ["messages", "sharegpt", "alpaca", "prompt_completion", "conversational_prompt_completion", "text"],
)
def test_every_format_can_be_forced(name):
    fixture = {
        "prompt_completion": "prompt_completion.csv",
        "messages": "messages.jsonl",
        "text": "text.jsonl",
    }.get(name, f"{name}.jsonl" if name.startswith("conv") else f"{name}.json")
    examples, report = load_examples(FIXTURES / fixture, format=name)
    assert report.format == name and examples


def test_unknown_format_name():
    with pytest.raises(InputError, match="unknown data format"):
        iter_examples(FIXTURES / "text.jsonl", format="chatml")


# -------------------------------------------------------------------------------- detection per file


def test_rows_must_match_the_detected_format(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", [{"text": "a"}, chat_row(1)])
    with pytest.raises(DataError, match="missing field 'text'") as info:
        load_examples(path)
    assert info.value.location.line == 2
    assert "detected from" in info.value.hint and f"{path}:1" in info.value.hint


def test_detection_hint_only_when_the_row_looks_like_another_format(tmp_path):
    bad_role = {"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "a"}]}
    path = write_jsonl(tmp_path / "m.jsonl", [chat_row(1), bad_role])
    with pytest.raises(DataError, match="unknown role 'robot'") as info:
        load_examples(path)
    assert "detected from" not in (info.value.hint or "")


def test_detection_uses_the_first_valid_row(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "no answer"}]},
        {"question": "?"},
        {"text": "t"},
        {"text": "u"},
    ]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    examples, report = load_examples(path, skip_invalid=True)
    assert [e.id for e in examples] == ["d.jsonl:3", "d.jsonl:4"]
    assert report.format == "text" and report.invalid == 2
    assert "cannot tell the data format" in report.invalid_samples[1]["reason"]


def test_undetectable_row_raises(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(DataError, match=r"cannot tell the data format.*'question', 'answer'"):
        load_examples(path)


# ------------------------------------------------------------------------------------- invalid rows

BAD_LINES = [
    (json.dumps(chat_row(0)), None),
    ('{"messages": [}', "invalid JSON"),
    (json.dumps({"prompt": "p", "completion": "c"}), "missing field 'messages'"),
    (
        json.dumps({"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "a"}]}),
        "unknown role 'robot'",
    ),
    (
        json.dumps({"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}]}),
        "must be a string",
    ),
    ("NONUTF8", "not valid UTF-8"),
    (
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}),
        "assistant content is empty",
    ),
    (json.dumps({"messages": [{"role": "user", "content": "q"}]}), "no assistant turn"),
    ('"a string"', "expected a JSON object"),
    (json.dumps(chat_row(9)), None),
]


def write_bad_file(path: Path, lines=BAD_LINES) -> Path:
    data = b"".join(
        (b'{"messages": "caf\xe9"}' if line == "NONUTF8" else line.encode()) + b"\n" for line, _ in lines
    )
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("lineno", [i + 1 for i, (_, reason) in enumerate(BAD_LINES) if reason])
def test_each_invalid_row_raises_naming_file_and_line(tmp_path, lineno):
    lines = [BAD_LINES[0], BAD_LINES[lineno - 1]]
    path = write_bad_file(tmp_path / "bad.jsonl", lines)
    with pytest.raises(DataError) as info:
        load_examples(path)
    assert lines[1][1] in info.value.message
    assert info.value.location.file == str(path) and info.value.location.line == 2


def test_skip_invalid_loses_nothing(tmp_path):
    path = write_bad_file(tmp_path / "bad.jsonl")
    examples, report = load_examples(path, skip_invalid=True)
    assert [e.id for e in examples] == ["bad.jsonl:1", "bad.jsonl:10"]
    assert report.examples + report.invalid == report.rows_read == len(BAD_LINES)
    expected = [(i + 1, reason) for i, (_, reason) in enumerate(BAD_LINES) if reason]
    assert len(report.invalid_samples) == len(expected)
    for sample, (lineno, reason) in zip(report.invalid_samples, expected):
        assert sample["location"].startswith(f"{path}:{lineno}")
        assert reason in sample["reason"]
    assert "field 'messages[0].role'" in report.invalid_samples[2]["location"]


def test_invalid_samples_are_capped(tmp_path):
    path = write_jsonl(tmp_path / "many.jsonl", ["{bad"] * 50 + [json.dumps({"text": "ok"})])
    examples, report = load_examples(path, skip_invalid=True)
    assert len(examples) == 1 and report.invalid == 50
    assert len(report.invalid_samples) == IngestReport.MAX_SAMPLES
    assert report.to_dict()["invalid"] == 50


def test_all_invalid_is_an_empty_dataset_even_when_skipping(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", ["{bad", json.dumps({"text": ""})])
    with pytest.raises(EmptyDatasetError, match="2 row\\(s\\) read, all invalid") as info:
        load_examples(path, skip_invalid=True)
    assert f"{path}:1" in str(info.value)


# -------------------------------------------------------------------------------------- empty/missing


@pytest.mark.parametrize(
    "name, content", [("e.jsonl", ""), ("e.jsonl", "\n\n"), ("e.json", "[]"), ("e.csv", "text\n")]
)
def test_empty_file(tmp_path, name, content):
    (tmp_path / name).write_text(content)
    with pytest.raises(EmptyDatasetError, match="no rows found"):
        load_examples(tmp_path / name)


def test_empty_folder(tmp_path):
    (tmp_path / ".hidden.jsonl").write_text('{"text": "a"}\n')
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(EmptyDatasetError, match="no data files found") as info:
        load_examples(tmp_path)
    assert ".jsonl" in info.value.hint


def test_missing_path_raises_when_called_not_when_iterated(tmp_path):
    with pytest.raises(DataError, match="no such file or folder") as info:
        iter_examples(tmp_path / "missing.jsonl")
    assert not isinstance(info.value, EmptyDatasetError)
    assert str(tmp_path / "missing.jsonl") in str(info.value)


def test_unsupported_extension(tmp_path):
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="unsupported file type") as info:
        load_examples(tmp_path / "data.xlsx")
    assert ".parquet" in info.value.hint


def test_skipped_files_are_reported(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}])
    (tmp_path / "README.md").write_text("about")
    _, report = load_examples(tmp_path)
    assert report.skipped_files == [str(tmp_path / "README.md")]


# ----------------------------------------------------------------------------------------- streaming


@pytest.fixture(scope="module")
def big_jsonl(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    line = json.dumps(chat_row(7))
    with path.open("w") as fh:
        fh.write("\n".join([line] * 200_000) + "\n")
    return path


def test_iter_examples_is_lazy_and_limit_stops_early(big_jsonl):
    report = IngestReport()
    start = time.perf_counter()
    it = iter_examples(big_jsonl, report=report, limit=25)
    assert isinstance(it, Iterator) and report.rows_read == 0
    first = next(it)
    assert first.id == "big.jsonl:1" and report.rows_read == 1
    rest = list(it)
    assert len(rest) == 24 and report.rows_read == 25 and report.stopped_at_limit
    assert time.perf_counter() - start < 1.0  # 200k rows would take far longer to read


def test_limit_must_be_positive():
    with pytest.raises(ValueError):
        iter_examples(FIXTURES / "text.jsonl", limit=0)


def _peak_while_streaming(path: Path, max_rows: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_examples(path, limit=max_rows))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_jsonl_streams_in_bounded_memory(big_jsonl):
    # 30k of the 200k rows are ~2.6 MB of text (~30 MB as objects); a streamed read holds one row at a time.
    count, peak = _peak_while_streaming(big_jsonl, 30_000)
    assert count == 30_000
    assert peak < 1_000_000, peak


def test_json_array_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "big.json"
    item = json.dumps({"instruction": "Add one to 7.", "input": "", "output": "8"})
    path.write_text("[\n" + ",\n".join([item] * 40_000) + "\n]")
    assert path.stat().st_size > 2_000_000
    count, peak = _peak_while_streaming(path, 40_000)
    assert count == 40_000
    assert peak < 1_500_000, peak  # two read chunks plus one row, not the whole file


@pytest.mark.slow
def test_ingestion_speed_100k_rows(big_jsonl):
    start = time.perf_counter()
    count = sum(1 for _ in iter_examples(big_jsonl, limit=100_000))
    elapsed = time.perf_counter() - start
    assert count == 100_000
    assert elapsed < 4.0, f"100k rows took {elapsed:.2f} s (goal: ~2 s)"


# ---------------------------------------------------------------- the frameworks' column mappings


def test_axolotl_message_mappings_and_roles_are_honoured(tmp_path):
    import json

    from tuneahead.data.load import load_recipe_data
    from tuneahead.recipe import load_recipe

    rows = [{"dialog": [{"speaker": "customer", "text": f"where is order {i}?"},
                        {"speaker": "agent", "text": f"order {i} ships today"}]} for i in range(4)]
    (tmp_path / "chats.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = tmp_path / "axolotl.yml"
    config.write_text(
        "base_model: tiny-1m\nlearning_rate: 1e-4\ndatasets:\n  - path: chats.jsonl\n    type: chat_template\n"
        "    field_messages: dialog\n    message_property_mappings: {role: speaker, content: text}\n"
        "    roles: {user: [customer], assistant: [agent]}\n"
    )
    train, _ = load_recipe_data(load_recipe(config))
    assert [m.role for m in train[0].messages] == ["user", "assistant"]
    assert train[2].completion_text() == "order 2 ships today"


def test_llamafactory_alpaca_columns_are_honoured(tmp_path):
    import json

    from tuneahead.data.load import load_recipe_data
    from tuneahead.recipe import load_recipe

    (tmp_path / "data").mkdir()
    rows = [{"question": f"capital of country {i}?", "answer": f"city {i}"} for i in range(3)]
    (tmp_path / "data" / "qa.json").write_text(json.dumps(rows))
    (tmp_path / "data" / "dataset_info.json").write_text(json.dumps(
        {"qa": {"file_name": "qa.json", "columns": {"prompt": "question", "response": "answer"}}}))
    config = tmp_path / "lf.yaml"
    config.write_text("model_name_or_path: tiny-1m\nstage: sft\nfinetuning_type: lora\ndataset: qa\n")
    train, _ = load_recipe_data(load_recipe(config))
    assert train[1].completion_text() == "city 1" and "capital of country 1?" in train[1].prompt_text()


def test_rows_in_memory_become_examples_and_a_bad_row_is_named():
    from tuneahead.data.load import IngestReport, examples_from_rows
    from tuneahead.errors import DataError

    rows = [{"prompt": "2+2?", "completion": "4", "input_ids": [1, 2]}, {"prompt": "3+3?", "completion": "6"}]
    report = IngestReport()
    examples = list(examples_from_rows(rows, "train_dataset", report=report))
    assert [e.id for e in examples] == ["train_dataset:1", "train_dataset:2"]
    assert report.examples == 2 and report.format == "prompt_completion"
    with pytest.raises(DataError, match="train_dataset:2"):
        list(examples_from_rows([rows[0], {"prompt": "no answer"}], "train_dataset"))


def test_describing_rows_in_memory_equals_describing_their_file(tmp_path):
    import json

    from tuneahead.data.describe import describe, describe_examples
    from tuneahead.data.load import examples_from_rows
    from tuneahead.models.tokenizer import load_default_tokenizer

    rows = [{"messages": [{"role": "user", "content": f"Add {i} and {i}."},
                          {"role": "assistant", "content": str(2 * i)}]} for i in range(40)]
    rows.append(rows[3])  # a duplicate, so the data findings have something to say
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    from_file = describe(path)
    in_memory = describe_examples(examples_from_rows(rows, "rows"), bundle=load_default_tokenizer())
    assert from_file.descriptors.keys() == in_memory.descriptors.keys()
    for name, value in from_file.descriptors.items():
        other = in_memory.descriptors[name]
        assert (value != value and other != other) or value == pytest.approx(other), name
    assert [f.code for f in from_file.findings] == [f.code for f in in_memory.findings]
