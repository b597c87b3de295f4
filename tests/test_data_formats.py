"""Format detection and normalisation of single rows to `Example`."""

from __future__ import annotations

import json

import pytest

from tuneahead.data.example import Message
from tuneahead.data.formats import FORMATS, detect_format, normalize, resolve_format
from tuneahead.data.readers import RowLocation
from tuneahead.errors import DataError, InputError

LOC = RowLocation("train.jsonl", 7)


def norm(row, fmt=None):
    return normalize(row, fmt or detect_format(row), "train.jsonl:7", LOC)


def fails(row, fmt=None):
    with pytest.raises(DataError) as info:
        norm(row, fmt)
    error = info.value
    assert (error.location.file, error.location.line) == ("train.jsonl", 7)
    return error


def chat(*pairs):
    return [{"role": role, "content": content} for role, content in pairs]


# ------------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"messages": [], "text": "x"}, "messages"),
        ({"conversations": []}, "sharegpt"),
        ({"instruction": "i", "input": "", "output": "o"}, "alpaca"),
        ({"instruction": "i"}, None),
        ({"prompt": "p", "completion": "c"}, "prompt_completion"),
        ({"prompt": [], "completion": []}, "conversational_prompt_completion"),
        ({"prompt": "p"}, None),
        ({"text": "t", "id": 3}, "text"),
        ({"question": "q", "answer": "a"}, None),
    ],
)
def test_detect_format(row, expected):
    assert detect_format(row) == expected


def test_resolve_format():
    assert resolve_format("auto") is None
    assert resolve_format("Prompt-Completion") == "prompt_completion"
    assert all(resolve_format(name) == name for name in FORMATS)
    with pytest.raises(InputError, match="unknown data format 'chatml'") as info:
        resolve_format("chatml")
    assert "sharegpt" in info.value.hint


# ------------------------------------------------------------------------------------------- messages


def test_messages():
    row = {"id": 42, "messages": chat(("system", "S"), ("user", "U"), ("assistant", "A"), ("tool", "T"))}
    example = norm(row)
    assert example.id == "train.jsonl:7"
    assert example.source_format == "messages"
    assert example.messages == (
        Message("system", "S"),
        Message("user", "U"),
        Message("assistant", "A"),
        Message("tool", "T"),
    )
    assert example.meta == {"row_id": "42"}
    assert example.prompt is None and example.completion is None


def test_messages_text_parts_are_joined():
    parts = [{"type": "text", "text": "a"}, {"text": "b"}, "c"]
    example = norm({"messages": [{"role": "user", "content": parts}, {"role": "assistant", "content": "x"}]})
    assert example.messages[0].content == "abc"


def test_messages_tool_call_only_turn_keeps_the_call():
    calls = [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]
    row = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "tool_calls": calls},
        ]
    }
    assert json.loads(norm(row).messages[1].content) == calls


@pytest.mark.parametrize(
    "messages, field, message",
    [
        (chat(("human", "hi"), ("assistant", "a")), "messages[0].role", "unknown role 'human'"),
        ([{"content": "hi"}, {"role": "assistant", "content": "a"}], "messages[0].role", "is missing"),
        (
            [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}],
            "messages[0].content",
            "got int",
        ),
        ([{"role": "user"}, {"role": "assistant", "content": "a"}], "messages[0].content", "missing or null"),
        (
            [
                {"role": "user", "content": [{"type": "image_url", "image_url": "x"}]},
                {"role": "assistant", "content": "a"},
            ],
            "messages[0].content[0].type",
            "'image_url' is not supported",
        ),
        (
            [{"role": ["user"], "content": "hi"}, {"role": "assistant", "content": "a"}],
            "messages[0].role",
            "unknown role",
        ),
        (chat(("user", "hi")), "messages", "no assistant turn"),
        (chat(("user", "hi"), ("assistant", "  ")), "messages[1].content", "assistant content is empty"),
        (["hi"], "messages[0]", "must be an object"),
        ("hi", "messages", "must be a list of messages, got a string"),
    ],
)
def test_messages_errors_name_the_field(messages, field, message):
    error = fails({"messages": messages})
    assert error.location.field == field
    assert message in error.message
    assert f"field '{field}'" in str(error)


# ------------------------------------------------------------------------------------------- ShareGPT


def test_sharegpt_roles_and_system():
    row = {
        "system": "Be brief.",
        "conversations": [
            {"from": "human", "value": "weather?"},
            {"from": "function_call", "value": '{"name": "w"}'},
            {"from": "observation", "value": "4C"},
            {"from": "GPT", "value": "4 degrees"},
            {"from": "user", "value": "thanks"},
            {"from": "bot", "value": "np"},
        ],
    }
    example = norm(row)
    assert example.source_format == "sharegpt"
    assert [m.role for m in example.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert example.messages[0].content == "Be brief."


def test_sharegpt_with_openai_keys():
    example = norm({"conversations": [{"role": "user", "content": "q"}, {"role": "model", "content": "a"}]})
    assert [m.role for m in example.messages] == ["user", "assistant"]


@pytest.mark.parametrize(
    "turns, field, message",
    [
        (
            [{"from": "alien", "value": "q"}, {"from": "gpt", "value": "a"}],
            "conversations[0].from",
            "unknown speaker 'alien'",
        ),
        (
            [{"from": "human", "value": ["q"]}, {"from": "gpt", "value": "a"}],
            "conversations[0].value",
            "must be a string",
        ),
        ([{"from": "human", "value": "q"}], "conversations", "no assistant turn"),
        (
            [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""}],
            "conversations[1].content",
            "empty",
        ),
        ({"from": "human"}, "conversations", "must be a list"),
    ],
)
def test_sharegpt_errors(turns, field, message):
    error = fails({"conversations": turns})
    assert error.location.field == field
    assert message in error.message


# --------------------------------------------------------------------------------------------- Alpaca


def test_alpaca_matches_llama_factory_join():
    example = norm({"instruction": "Translate.", "input": "cat", "output": "chat", "system": "S"})
    assert example.source_format == "alpaca"
    assert example.messages == (
        Message("system", "S"),
        Message("user", "Translate.\ncat"),
        Message("assistant", "chat"),
    )


def test_alpaca_empty_or_missing_input_and_history():
    plain = norm({"instruction": "Say hi.", "input": "", "output": "hi"})
    assert plain.messages == (Message("user", "Say hi."), Message("assistant", "hi"))
    assert norm({"instruction": "Say hi.", "input": None, "output": "hi"}).messages == plain.messages
    assert norm({"instruction": "Say hi.", "output": "hi"}).messages == plain.messages
    with_history = norm({"instruction": "And 3?", "output": "9", "history": [["Square 2?", "4"]]})
    assert [m.content for m in with_history.messages] == ["Square 2?", "4", "And 3?", "9"]


@pytest.mark.parametrize(
    "row, field, message",
    [
        ({"instruction": "i", "output": ""}, "output", "empty"),
        ({"instruction": "i", "output": 3}, "output", "must be a string, got int"),
        ({"instruction": "", "input": "", "output": "o"}, "instruction", "both empty"),
        ({"instruction": "i", "output": "o", "history": [["only one"]]}, "history[0]", "pair"),
        ({"instruction": "i", "input": 7, "output": "o"}, "input", "must be a string"),
    ],
)
def test_alpaca_errors(row, field, message):
    error = fails(row)
    assert error.location.field == field
    assert message in error.message


# ---------------------------------------------------------------------------------- prompt-completion


def test_prompt_completion_plain():
    example = norm({"prompt": "The sky is", "completion": " blue."})
    assert (example.prompt, example.completion, example.messages) == ("The sky is", " blue.", ())
    assert example.source_format == "prompt_completion"


def test_conversational_prompt_completion():
    row = {"prompt": chat(("system", "S"), ("user", "Q")), "completion": chat(("assistant", "A"))}
    example = norm(row)
    assert example.source_format == "conversational_prompt_completion"
    assert [m.role for m in example.messages] == ["system", "user", "assistant"]


@pytest.mark.parametrize(
    "row, fmt, field, message",
    [
        ({"prompt": "p", "completion": ""}, None, "completion", "empty"),
        ({"prompt": 1, "completion": "c"}, None, "prompt", "must be a string"),
        ({"prompt": "p"}, "prompt_completion", "completion", "missing field 'completion'"),
        (
            {"prompt": chat(("user", "q")), "completion": chat(("assistant", "a"))},
            "prompt_completion",
            "prompt",
            "list of messages",
        ),
        (
            {"prompt": chat(("user", "q")), "completion": chat(("user", "a"))},
            None,
            "completion",
            "no assistant turn",
        ),
        (
            {"prompt": chat(("user", "q")), "completion": "a"},
            None,
            "completion",
            "must be a list of messages",
        ),
    ],
)
def test_prompt_completion_errors(row, fmt, field, message):
    error = fails(row, fmt)
    assert error.location.field == field
    assert message in error.message


# ----------------------------------------------------------------------------------------------- text


def test_text():
    example = norm({"text": "Once upon a time."})
    assert (example.prompt, example.completion, example.source_format) == ("", "Once upon a time.", "text")
    assert example.full_text() == "Once upon a time."


@pytest.mark.parametrize("value, message", [("  ", "empty"), (None, "got null"), (["a"], "got a list")])
def test_text_errors(value, message):
    error = fails({"text": value})
    assert error.location.field == "text" and message in error.message


def test_forced_format_requires_its_fields():
    error = fails({"messages": chat(("user", "q"), ("assistant", "a"))}, "text")
    assert error.location.field == "text"
    assert "missing field 'text' (required by the text format)" in error.message
    assert norm({"messages": chat(("user", "q"), ("assistant", "a")), "text": "t"}, "text").completion == "t"
