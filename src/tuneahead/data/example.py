"""The one internal example type every dataset format is normalised to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})

SourceFormat = Literal[
    "messages", "prompt_completion", "conversational_prompt_completion", "text", "alpaca", "sharegpt",
]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Example:
    """One training or evaluation example.

    Chat examples carry `messages` (rendered through a chat template; loss goes on assistant turns).
    Raw examples (plain `text`, non-conversational prompt–completion) carry `prompt` and `completion`
    strings that are concatenated as-is, which is how TRL treats them; plain `text` has an empty prompt.

    `id` names where the example came from ("train.jsonl:17", "data.parquet:#302") so findings can
    point users at rows.
    """

    id: str
    source_format: SourceFormat
    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    completion: str | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)

    def prompt_text(self) -> str:
        """Everything before the (last) answer, as plain text — used for dedup/leak/conflict checks."""
        if not self.is_chat:
            return self.prompt or ""
        last = _last_assistant_index(self.messages)
        upto = self.messages if last is None else self.messages[:last]
        return "\n".join(f"{m.role}: {m.content}" for m in upto)

    def completion_text(self) -> str:
        """The (last) answer, as plain text — used for answer-skew and conflict checks."""
        if not self.is_chat:
            return self.completion or ""
        last = _last_assistant_index(self.messages)
        return "" if last is None else self.messages[last].content

    def content_text(self) -> str:
        """What the example is *about*: every message but system prompts (usually shared by all rows).

        Duplicate and leakage checks compare this text, so a long common system prompt does not
        make unrelated rows look alike.
        """
        if not self.is_chat:
            return (self.prompt or "") + "\n" + (self.completion or "")
        return "\n".join(m.content for m in self.messages if m.role != "system")

    def full_text(self) -> str:
        if not self.is_chat:
            return (self.prompt or "") + (self.completion or "")
        return "\n".join(f"{m.role}: {m.content}" for m in self.messages)


def _last_assistant_index(messages: tuple[Message, ...]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "assistant":
            return i
    return None
