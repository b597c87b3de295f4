"""Turn examples into the exact token sequences and loss masks a fine-tune trains on.

This is the one code path shared by descriptors, the probe and the corpus (no train/serve skew).
Chat examples are rendered through the chat template; the character spans of each assistant
answer (plus the end-of-turn token that follows it, which the model must learn to emit) are
located with placeholder markers, and tokens whose offsets fall inside those spans carry loss.
Raw examples are `prompt + completion + EOS`, as TRL builds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tuneahead.chat_templates import (
    CHATML_TEMPLATE,
    END_OF_TURN_STRINGS,
    KNOWN,
    parse_choice,
)
from tuneahead.data.example import Example
from tuneahead.errors import DataError, Location
from tuneahead.models.tokenizer import TokenizerBundle

# Private-use code points: they cannot be typed by accident and survive Jinja filters like `trim`.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"

# The named templates (ChatML, plain, and the families frameworks name) live in `tuneahead.chat_templates`.
NAMED_TEMPLATES: dict[str, str] = {name: t.jinja for name, t in KNOWN.items()}

# End-of-turn strings that close an assistant answer: every named template's, and common ones besides.
_END_OF_TURN = tuple(dict.fromkeys((*END_OF_TURN_STRINGS, "<|im_end|>", "<|eot_id|>", "<|end|>", "</s>",
                                    "<end_of_turn>", "<|endoftext|>")))


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    completion_spans: tuple[tuple[int, int], ...]  # [start, end) character spans that carry loss
    add_special_tokens: bool  # raw text gets the tokenizer's BOS/EOS post-processing; templates don't
    dropped_turns: int = 0  # assistant turns the template did not render (reasoning templates drop old ones)


@dataclass(frozen=True, slots=True)
class Tokenized:
    input_ids: np.ndarray  # int32
    loss_mask: np.ndarray  # bool, True where the token carries loss (as if no truncation)
    completion_mask: np.ndarray  # bool, True on answer tokens (independent of the loss setting)

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[0])


def resolve_template(bundle: TokenizerBundle, recipe_template: str | None) -> str:
    """The chat template a run uses, as the recipe's framework means it: Jinja source as given; a named
    template (`llama3`, `qwen3`, `gemma3`, ...) from the named table; `tokenizer_default` (or no
    template) the tokenizer's own; `tokenizer_default_fallback_X` the tokenizer's own, else X. ChatML
    when the tokenizer has none. An unknown name is a DataError listing the known ones."""
    if not recipe_template:
        return bundle.chat_template or CHATML_TEMPLATE
    try:
        choice = parse_choice(recipe_template)
    except ValueError as exc:
        raise DataError(str(exc), Location(field="chat_template")) from None
    if choice.kind == "jinja":
        return recipe_template
    if choice.kind == "tokenizer" or (choice.kind == "fallback" and bundle.chat_template):
        return bundle.chat_template or CHATML_TEMPLATE
    assert choice.named is not None
    return choice.named.jinja


@lru_cache(maxsize=16)
def _compiled(template: str):
    # transformers' sandboxed Jinja environment (trim_blocks, loopcontrols, {% generation %} support);
    # importing this module does not import torch.
    from transformers.utils.chat_template_utils import _compile_jinja_template

    return _compiled_or_error(_compile_jinja_template, template)


def _compiled_or_error(compile_fn, template: str):
    try:
        return compile_fn(template)
    except Exception as exc:  # jinja2.TemplateSyntaxError and friends
        raise DataError(f"chat template does not compile: {exc}", Location(field="chat_template")) from None


def render(example: Example, bundle: TokenizerBundle, template: str) -> Rendered:
    """Render one example to text plus the character spans of its answers."""
    if not example.is_chat:
        completion = (example.completion or "") + (bundle.eos_token or "")
        prompt = example.prompt or ""
        return Rendered(prompt + completion, ((len(prompt), len(prompt) + len(completion)),), True)

    messages = []
    answers: list[str] = []
    for m in example.messages:
        if m.role == "assistant":
            messages.append({"role": m.role, "content": f"{_MARK_OPEN}{len(answers)}{_MARK_CLOSE}"})
            answers.append(m.content)
        else:
            messages.append({"role": m.role, "content": m.content})
    try:
        marked = _compiled(template).render(
            messages=messages,
            add_generation_prompt=False,
            bos_token=bundle.bos_token or "",
            eos_token=bundle.eos_token or "",
            pad_token=bundle.pad_token or "",
        )
    except DataError:
        raise
    except Exception as exc:  # template raised (e.g. raise_exception for role order)
        raise DataError(f"chat template failed on this example: {exc}", Location(file=example.id)) from None
    return _splice_answers(marked, answers, bundle.eos_token, example.id)


def _splice_answers(marked: str, answers: list[str], eos: str | None, example_id: str) -> Rendered:
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    cursor = 0
    end_tokens = tuple(t for t in (eos, *_END_OF_TURN) if t)
    seen = 0
    while True:
        start = marked.find(_MARK_OPEN, cursor)
        if start < 0:
            break
        stop = marked.find(_MARK_CLOSE, start)
        index = int(marked[start + 1 : stop])
        before = marked[cursor:start]
        pieces.append(before)
        length += len(before)
        answer = answers[index]
        pieces.append(answer)
        span_end = length + len(answer)
        cursor = stop + 1
        # The end-of-turn token right after an answer (after spaces, as Llama 2 writes " </s>") is part of
        # what the model must learn to emit.
        gap = len(marked) - cursor - len(marked[cursor:].lstrip(" "))
        for token in end_tokens:
            if marked.startswith(token, cursor + gap):
                pieces.append(marked[cursor : cursor + gap] + token)
                span_end += gap + len(token)
                cursor += gap + len(token)
                break
        spans.append((length, span_end))
        length = span_end
        seen += 1
    pieces.append(marked[cursor:])
    if answers and seen == 0:
        raise DataError(
            f"the chat template renders none of the {len(answers)} assistant turns: nothing to learn",
            Location(file=example_id),
            hint="check the recipe's chat_template (a name TuneAhead knows, Jinja source, or the tokenizer's own)",
        )
    # A template that keeps only some turns (reasoning templates drop earlier answers) trains on what it
    # keeps, as the framework does; the count is reported.
    return Rendered("".join(pieces), tuple(spans), False, dropped_turns=len(answers) - seen)


def _token_range(enc, start: int, end: int, text: str) -> tuple[int, int]:
    """Tokens whose first character lies in [start, end): two lookups instead of all offsets.

    A token straddling the start belongs to the prompt, unless what it takes from before the answer is
    only whitespace: a template that writes "ASSISTANT: " before the answer makes BPE merge that space
    into the answer's first word (" six"), and that token is what the model must learn to emit."""
    first = None
    for pos in range(start, end):
        first = enc.char_to_token(pos)
        if first is not None:
            break
    if first is None:
        return 0, 0
    token_start = enc.token_to_chars(first)[0]
    if token_start < start and text[token_start:start].strip():
        first += 1
    last = None
    for pos in range(end - 1, start - 1, -1):
        last = enc.char_to_token(pos)
        if last is not None:
            break
    return first, (last + 1 if last is not None else first)


def loss_applies_to_completion_only(example: Example, loss_on: str) -> bool:
    if loss_on == "completion":
        return True
    if loss_on == "all":
        return False
    # "completion_for_prompt_completion": TRL masks prompts only for prompt–completion datasets.
    return example.source_format in ("prompt_completion", "conversational_prompt_completion")


def tokenize_batch(
    examples: Sequence[Example], bundle: TokenizerBundle, template: str, loss_on: str
) -> list[Tokenized]:
    """Render and tokenize a batch (batched in Rust); loss masks follow the recipe's `loss_on`."""
    rendered = [render(e, bundle, template) for e in examples]
    return build_masks(examples, rendered, encode_rendered(rendered, bundle), loss_on)


def encode_rendered(rendered: Sequence[Rendered], bundle: TokenizerBundle) -> list:
    """Tokenize rendered texts in Rust (releases the GIL, so it can overlap Python work in a thread)."""
    out: list = [None] * len(rendered)
    for special in (False, True):
        idx = [i for i, r in enumerate(rendered) if r.add_special_tokens is special]
        if idx:
            encodings = bundle.tokenizer.encode_batch(  # type: ignore[attr-defined]
                [rendered[i].text for i in idx], add_special_tokens=special
            )
            for i, enc in zip(idx, encodings):
                out[i] = enc
    return out


def build_masks(
    examples: Sequence[Example], rendered: Sequence[Rendered], encodings: Sequence, loss_on: str
) -> list[Tokenized]:
    """Token ids plus answer and loss masks from the encodings of rendered examples."""
    out: list[Tokenized] = []
    for example, r, enc in zip(examples, rendered, encodings):
        ids = np.asarray(enc.ids, dtype=np.int32)
        completion = np.zeros(len(ids), dtype=bool)
        for a, b in r.completion_spans:
            first, last = _token_range(enc, a, b, r.text)
            completion[first:last] = True
        # Special tokens added by post-processing (BOS) carry no answer; an EOS appended by the
        # post-processor after a raw completion does (the model must learn to stop).
        if r.add_special_tokens:
            completion &= ~np.asarray(enc.special_tokens_mask, dtype=bool)
        loss = completion if loss_applies_to_completion_only(example, loss_on) else np.ones(len(ids), dtype=bool)
        out.append(Tokenized(ids, loss, completion))
    return out


def render_generation_prompt(example: Example, bundle: TokenizerBundle, template: str) -> tuple[str, str]:
    """(prompt text ending where the model must start answering, the reference answer).

    For chat examples: every message before the last assistant turn, rendered with the template's
    generation prompt. For raw examples: the prompt string. Used to evaluate a model by generation.
    """
    answer = example.completion_text()
    if not example.is_chat:
        return example.prompt or "", answer
    last = max(i for i, m in enumerate(example.messages) if m.role == "assistant")
    messages = [{"role": m.role, "content": m.content} for m in example.messages[:last]]
    try:
        text = _compiled(template).render(
            messages=messages,
            add_generation_prompt=True,
            bos_token=bundle.bos_token or "",
            eos_token=bundle.eos_token or "",
            pad_token=bundle.pad_token or "",
        )
    except Exception as exc:
        raise DataError(f"chat template failed on this example: {exc}", Location(file=example.id)) from None
    return text, answer
