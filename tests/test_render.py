"""Rendering and loss masks: the exact tokens a fine-tune trains on."""

from __future__ import annotations

import numpy as np
import pytest

from tuneahead.data.example import Example, Message
from tuneahead.data.render import CHATML_TEMPLATE, render, resolve_template, tokenize_batch
from tuneahead.errors import DataError


def chat(*turns: tuple[str, str], fmt: str = "messages") -> Example:
    return Example("t.jsonl:1", fmt, tuple(Message(r, c) for r, c in turns))  # type: ignore[arg-type]


def decoded(bundle, tok, mask) -> str:
    return bundle.tokenizer.decode([int(i) for i, m in zip(tok.input_ids, mask) if m], skip_special_tokens=False)


def test_chat_answer_span_includes_end_of_turn(default_bundle) -> None:
    template = resolve_template(default_bundle, None)
    r = render(chat(("user", "What is 2+2?"), ("assistant", "4")), default_bundle, template)
    assert [r.text[a:b] for a, b in r.completion_spans] == ["4<|im_end|>"]
    assert r.text.endswith("<|im_start|>assistant\n4<|im_end|>\n")


def test_completion_only_masks_every_prompt_token(default_bundle) -> None:
    template = resolve_template(default_bundle, None)
    ex = chat(("system", "Be brief."), ("user", "Name a colour."), ("assistant", "Blue"),
              ("user", "Another?"), ("assistant", "Green"))
    [tok] = tokenize_batch([ex], default_bundle, template, "completion")
    # Token by token: exactly the two answers and their end-of-turn tokens carry loss.
    assert decoded(default_bundle, tok, tok.loss_mask) == "Blue<|im_end|>Green<|im_end|>"
    prompt_only = decoded(default_bundle, tok, ~tok.loss_mask)
    assert "Name a colour." in prompt_only and "Blue" not in prompt_only


def test_all_tokens_loss_and_trl_default(default_bundle) -> None:
    template = resolve_template(default_bundle, None)
    ex = chat(("user", "Hi"), ("assistant", "Hello"))
    [all_tok] = tokenize_batch([ex], default_bundle, template, "all")
    assert all_tok.loss_mask.all()
    # TRL's default trains on every token of conversational `messages` data ...
    [trl_chat] = tokenize_batch([ex], default_bundle, template, "completion_for_prompt_completion")
    assert trl_chat.loss_mask.all()
    # ... but only on the completion of prompt–completion data.
    pc = chat(("user", "Hi"), ("assistant", "Hello"), fmt="conversational_prompt_completion")
    [trl_pc] = tokenize_batch([pc], default_bundle, template, "completion_for_prompt_completion")
    assert decoded(default_bundle, trl_pc, trl_pc.loss_mask) == "Hello<|im_end|>"


def test_raw_prompt_completion_appends_eos(default_bundle) -> None:
    ex = Example("t.jsonl:2", "prompt_completion", prompt="Q: 3+3?\nA:", completion=" 6")
    [tok] = tokenize_batch([ex], default_bundle, CHATML_TEMPLATE, "completion")
    assert decoded(default_bundle, tok, tok.loss_mask) == " 6<|im_end|>"
    assert tok.input_ids[-1] == default_bundle.eos_id


def test_template_that_drops_every_assistant_turn_is_refused(default_bundle) -> None:
    # One that keeps some turns trains on those (tests/test_chat_templates.py); keeping none leaves nothing.
    dropping = "{% for m in messages %}{% if m.role != 'assistant' %}{{ m.content }}{% endif %}{% endfor %}"
    with pytest.raises(DataError, match="renders none of the 1 assistant turns"):
        render(chat(("user", "Hi"), ("assistant", "Hello")), default_bundle, dropping)


def test_bad_template_names_the_field(default_bundle) -> None:
    with pytest.raises(DataError, match="chat_template"):
        render(chat(("user", "Hi"), ("assistant", "Hello")), default_bundle, "{% for m in messages %}")


def test_named_template_and_tokenizer_template() -> None:
    from tuneahead.models.tokenizer import load_default_tokenizer

    bundle = load_default_tokenizer()
    assert resolve_template(bundle, "chatml") == CHATML_TEMPLATE
    assert resolve_template(bundle, None) == bundle.chat_template
    assert np.dtype("int32") == tokenize_batch(
        [chat(("user", "a"), ("assistant", "b"))], bundle, CHATML_TEMPLATE, "completion"
    )[0].input_ids.dtype


def test_generation_prompt_stops_where_the_answer_starts(default_bundle) -> None:
    from tuneahead.data.render import render_generation_prompt

    template = resolve_template(default_bundle, None)
    ex = chat(("user", "Capital of France?"), ("assistant", "Paris"))
    prompt, answer = render_generation_prompt(ex, default_bundle, template)
    full = render(ex, default_bundle, template).text
    assert answer == "Paris"
    assert prompt.endswith("<|im_start|>assistant\n") and full.startswith(prompt)
    assert full[len(prompt):].startswith("Paris<|im_end|>")
