"""Recognise a row's dataset format from its keys and normalise it to an `Example`.

Supported formats (the names users pass to force one):

| format | keys | becomes |
| --- | --- | --- |
| `messages` | `messages`: [{role, content}] | chat messages |
| `sharegpt` | `conversations`: [{from, value}], optional `system` | chat messages |
| `alpaca` | `instruction`, `output`, optional `input`, `system`, `history` | chat messages |
| `conversational_prompt_completion` | `prompt`, `completion`: lists of messages | chat messages (prompt + completion) |
| `prompt_completion` | `prompt`, `completion`: strings | raw prompt / completion |
| `text` | `text`: string | raw completion with an empty prompt |

Every error names the field that is wrong ("messages[2].role") so users can fix the row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, cast

from tuneahead.data.example import ROLES, Example, Message, Role
from tuneahead.errors import DataError, InputError, Location

FORMATS: tuple[str, ...] = (
    "messages",
    "sharegpt",
    "alpaca",
    "conversational_prompt_completion",
    "prompt_completion",
    "text",
)

# ShareGPT speaker tags. "function_call" is the model calling a tool (so the assistant speaks) and
# "observation" is the tool's answer, as in LLaMA-Factory's sharegpt converter.
SHAREGPT_ROLES: dict[str, str] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "system": "system",
    "tool": "tool",
    "observation": "tool",
}

_EXPECTED_KEYS = (
    "'messages', 'conversations' (ShareGPT), 'instruction' + 'output' (Alpaca), "
    "'prompt' + 'completion', or 'text'"
)


def resolve_format(name: str) -> str | None:
    """A user-given format name → a member of FORMATS, or None for "auto"."""
    key = name.strip().lower().replace("-", "_")
    if key in ("", "auto"):
        return None
    if key not in FORMATS:
        raise InputError(f"unknown data format {name!r}", hint="choose auto, " + ", ".join(FORMATS))
    return key


def detect_format(row: Mapping[str, Any]) -> str | None:
    """The format a row's keys announce, or None. Richer formats win when keys overlap."""
    if "messages" in row:
        return "messages"
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if "prompt" in row and "completion" in row:
        return "conversational_prompt_completion" if isinstance(row["prompt"], list) else "prompt_completion"
    if "text" in row:
        return "text"
    return None


def undetectable(row: Mapping[str, Any], location: Location) -> DataError:
    keys = ", ".join(repr(k) for k in list(row)[:12]) or "none"
    return DataError(
        f"cannot tell the data format from this row's keys ({keys}); expected {_EXPECTED_KEYS}",
        location,
        hint="rename the columns, or set the format explicitly",
    )


def normalize(row: Mapping[str, Any], fmt: str, example_id: str, location: Location) -> Example:
    """Normalise one row of format `fmt` (a member of FORMATS) to an Example; DataError if it does not fit."""
    example = _NORMALISERS[fmt](row, example_id, location)
    row_id = row.get("id")
    if row_id is not None and row_id != "":
        example.meta["row_id"] = str(row_id)
    return example


# ------------------------------------------------------------------------------------------- helpers


def _error(location: Location, field: str, message: str, hint: str | None = None) -> DataError:
    return DataError(message, replace(location, field=field), hint=hint)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _required(row: Mapping[str, Any], key: str, fmt: str, location: Location) -> Any:
    if key not in row:
        raise _error(location, key, f"missing field '{key}' (required by the {fmt} format)")
    return row[key]


def _string(value: Any, location: Location, field: str, *, optional: bool = False) -> str:
    """A string field; with `optional`, null (a missing CSV/Parquet value) reads as ""."""
    if isinstance(value, str):
        return value
    if optional and value is None:
        return ""
    raise _error(location, field, f"must be a string, got {_type_name(value)}")


def _non_empty(text: str, location: Location, field: str, what: str) -> str:
    if not text.strip():
        raise _error(location, field, f"{what} is empty: nothing to learn from this row")
    return text


def _content(message: Mapping[str, Any], location: Location, field: str) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return _join_parts(content, location, field)
    tool_calls = message.get("tool_calls")
    if content in (None, "") and isinstance(tool_calls, list) and tool_calls:
        # An assistant turn that only calls tools: the calls are what the model learns to write.
        return json.dumps(tool_calls, ensure_ascii=False)
    if content is None:
        raise _error(location, field, "is missing or null")
    raise _error(location, field, f"must be a string or a list of text parts, got {_type_name(content)}")


def _join_parts(parts: list[Any], location: Location, field: str) -> str:
    # Chat templates render text parts back to back (e.g. `{{ content['text'] }}` in a loop), so join with "".
    texts: list[str] = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise _error(location, f"{field}[{i}]", f"must be a text part, got {_type_name(part)}")
        kind = part.get("type", "text")
        if kind != "text":
            raise _error(
                location, f"{field}[{i}].type", f"content part of type {kind!r} is not supported (text only)"
            )
        texts.append(_string(part.get("text"), location, f"{field}[{i}].text"))
    return "".join(texts)


def _chat_messages(value: Any, location: Location, field: str) -> list[Message]:
    """A list of {role, content} messages with roles limited to system/user/assistant/tool."""
    if not isinstance(value, list):
        raise _error(location, field, f"must be a list of messages, got {_type_name(value)}")
    out: list[Message] = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise _error(
                location,
                f"{field}[{i}]",
                f"must be an object with 'role' and 'content', got {_type_name(message)}",
            )
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            if role is None:
                raise _error(location, f"{field}[{i}].role", "is missing")
            raise _error(
                location,
                f"{field}[{i}].role",
                f"unknown role {role!r}",
                hint="roles are system, user, assistant and tool",
            )
        out.append(Message(cast(Role, role), _content(message, location, f"{field}[{i}].content")))
    return out


def _check_assistant(
    messages: list[Message], location: Location, field: str, *, required: bool = True
) -> None:
    """Training needs at least one assistant turn, and no empty one (it would teach empty answers)."""
    found = False
    for i, message in enumerate(messages):
        if message.role == "assistant":
            found = True
            if not message.content.strip():
                raise _error(location, f"{field}[{i}].content", "assistant content is empty")
    if required and not found:
        raise _error(location, field, "has no assistant turn: nothing to learn from this row")


# ---------------------------------------------------------------------------------------- normalisers


def _from_messages(row: Mapping[str, Any], example_id: str, location: Location) -> Example:
    messages = _chat_messages(_required(row, "messages", "messages", location), location, "messages")
    _check_assistant(messages, location, "messages")
    return Example(example_id, "messages", messages=tuple(messages))


def _from_sharegpt(row: Mapping[str, Any], example_id: str, location: Location) -> Example:
    turns = _required(row, "conversations", "sharegpt", location)
    if not isinstance(turns, list):
        raise _error(location, "conversations", f"must be a list of turns, got {_type_name(turns)}")
    messages: list[Message] = []
    system = _string(row.get("system"), location, "system", optional=True)
    if system:
        messages.append(Message("system", system))
    for i, turn in enumerate(turns):
        field = f"conversations[{i}]"
        if not isinstance(turn, dict):
            raise _error(
                location, field, f"must be an object with 'from' and 'value', got {_type_name(turn)}"
            )
        # Some exports write ShareGPT turns with OpenAI keys; accept both spellings.
        speaker_key, text_key = ("from", "value") if "from" in turn else ("role", "content")
        speaker = turn.get(speaker_key)
        if not isinstance(speaker, str):
            raise _error(location, f"{field}.{speaker_key}", f"must be a string, got {_type_name(speaker)}")
        role = SHAREGPT_ROLES.get(speaker.lower())
        if role is None:
            raise _error(
                location,
                f"{field}.{speaker_key}",
                f"unknown speaker {speaker!r}",
                hint="ShareGPT speakers are " + ", ".join(SHAREGPT_ROLES),
            )
        messages.append(
            Message(cast(Role, role), _string(turn.get(text_key), location, f"{field}.{text_key}"))
        )
    _check_assistant(messages, location, "conversations")
    return Example(example_id, "sharegpt", messages=tuple(messages))


def _from_alpaca(row: Mapping[str, Any], example_id: str, location: Location) -> Example:
    # Mirrors LLaMA-Factory's AlpacaDatasetConverter (src/llamafactory/data/converter.py): history pairs
    # become earlier turns, and the user turn is "\n".join of the non-empty instruction and input.
    instruction = _string(
        _required(row, "instruction", "alpaca", location), location, "instruction", optional=True
    )
    query = _string(row.get("input"), location, "input", optional=True)
    output = _string(_required(row, "output", "alpaca", location), location, "output")
    _non_empty(output, location, "output", "the output")
    user = "\n".join(part for part in (instruction, query) if part)
    if not user.strip():
        raise _error(location, "instruction", "instruction and input are both empty")
    messages: list[Message] = []
    system = _string(row.get("system"), location, "system", optional=True)
    if system:
        messages.append(Message("system", system))
    history = row.get("history")
    if history is not None and history != "":
        if not isinstance(history, list):
            raise _error(
                location,
                "history",
                f"must be a list of [instruction, response] pairs, got {_type_name(history)}",
            )
        for i, pair in enumerate(history):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise _error(location, f"history[{i}]", "must be an [instruction, response] pair")
            messages.append(Message("user", _string(pair[0], location, f"history[{i}][0]")))
            messages.append(Message("assistant", _string(pair[1], location, f"history[{i}][1]")))
    messages.append(Message("user", user))
    messages.append(Message("assistant", output))
    return Example(example_id, "alpaca", messages=tuple(messages))


def _from_conversational_pc(row: Mapping[str, Any], example_id: str, location: Location) -> Example:
    fmt = "conversational_prompt_completion"
    prompt = _chat_messages(_required(row, "prompt", fmt, location), location, "prompt")
    completion = _chat_messages(_required(row, "completion", fmt, location), location, "completion")
    _check_assistant(prompt, location, "prompt", required=False)  # few-shot answers in the prompt
    _check_assistant(completion, location, "completion")
    return Example(example_id, "conversational_prompt_completion", messages=tuple(prompt + completion))


def _from_prompt_completion(row: Mapping[str, Any], example_id: str, location: Location) -> Example:
    prompt = _required(row, "prompt", "prompt_completion", location)
    completion = _required(row, "completion", "prompt_completion", location)
    if isinstance(prompt, list) or isinstance(completion, list):
        raise _error(
            location,
            "prompt" if isinstance(prompt, list) else "completion",
            "is a list of messages, but this data holds plain-text prompts and completions",
            hint="use the conversational_prompt_completion format for message lists in every row",
        )
    prompt_text = _string(prompt, location, "prompt", optional=True)
    completion_text = _non_empty(
        _string(completion, location, "completion"), location, "completion", "the completion"
    )
    return Example(example_id, "prompt_completion", prompt=prompt_text, completion=completion_text)


def _from_text(row: Mapping[str, Any], example_id: str, location: Location) -> Example:
    text = _string(_required(row, "text", "text", location), location, "text")
    _non_empty(text, location, "text", "the text")
    return Example(example_id, "text", prompt="", completion=text)


_NORMALISERS: dict[str, Callable[[Mapping[str, Any], str, Location], Example]] = {
    "messages": _from_messages,
    "sharegpt": _from_sharegpt,
    "alpaca": _from_alpaca,
    "conversational_prompt_completion": _from_conversational_pc,
    "prompt_completion": _from_prompt_completion,
    "text": _from_text,
}
