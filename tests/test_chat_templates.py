"""Named chat templates: every family renders its documented layout, and the loss mask covers exactly
the answers and their end-of-turn strings, token by token."""

from __future__ import annotations

import pytest

from tuneahead.chat_templates import ALIASES, KNOWN, check_name, lookup
from tuneahead.data.example import Example, Message
from tuneahead.data.render import render, resolve_template, tokenize_batch
from tuneahead.errors import DataError

ANSWERS = ("Paris", "Seven hundred")
PROMPTS = ("Capital of France?", "How many?")


def conversation() -> Example:
    return Example(
        id="t",
        messages=(
            Message("system", "Answer briefly."),
            Message("user", PROMPTS[0]), Message("assistant", ANSWERS[0]),
            Message("user", PROMPTS[1]), Message("assistant", ANSWERS[1]),
        ),
        source_format="messages",
    )


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_loss_covers_exactly_the_answers(default_bundle, name: str) -> None:
    template = KNOWN[name]
    rendered = render(conversation(), default_bundle, template.jinja)
    text = rendered.text
    assert all(p in text for p in PROMPTS) and "Answer briefly." in text
    [tok] = tokenize_batch([conversation()], default_bundle, template.jinja, "completion")
    enc = default_bundle.tokenizer.encode(text, add_special_tokens=False)
    assert list(enc.ids) == tok.input_ids.tolist()
    end = template.end_of_turn or default_bundle.eos_token
    for (a, b), answer in zip(rendered.completion_spans, ANSWERS):
        assert text[a:b].strip().startswith(answer)
        if name != "glm4":  # GLM-4 ends a turn with the next role tag, not an end-of-turn string
            assert text[a:b].rstrip().endswith(end), (name, text[a:b])
    # Token by token: a token carries loss exactly when it starts inside an answer span, or only
    # whitespace separates its start from one (a leading space merged into the answer's first word).
    spans = rendered.completion_spans
    for i, (start, stop) in enumerate(enc.offsets):
        inside = any(a <= start < b for a, b in spans) or any(start < a < stop and not text[start:a].strip()
                                                              for a, b in spans)
        assert bool(tok.loss_mask[i]) == inside, (name, i, text[start:stop])
    masked = default_bundle.tokenizer.decode(tok.input_ids[tok.loss_mask].tolist(), skip_special_tokens=False)
    assert all(answer in masked for answer in ANSWERS)
    assert not any(prompt in masked for prompt in PROMPTS) and "Answer briefly." not in masked


@pytest.mark.parametrize("alias, canonical", sorted(ALIASES.items()))
def test_framework_names_resolve(alias: str, canonical: str) -> None:
    assert lookup(alias) is KNOWN[canonical]
    assert check_name(alias) is None


def test_documented_layouts_of_the_main_families(default_bundle) -> None:
    def text(name: str) -> str:
        return render(conversation(), default_bundle, resolve_template(default_bundle, name)).text

    assert "<|start_header_id|>assistant<|end_header_id|>\n\nParis<|eot_id|>" in text("llama3")
    assert "<start_of_turn>user\nAnswer briefly.\n\nCapital of France?<end_of_turn>\n<start_of_turn>model\nParis" \
        in text("gemma3")
    assert "[INST]Answer briefly.\n\nCapital of France?[/INST]Paris" in text("mistral_v3_tekken")
    assert text("mistral_v7_tekken").startswith(f"{default_bundle.bos_token}[SYSTEM_PROMPT]Answer briefly.")
    assert "<|assistant|>\nParis<|end|>" in text("phi_3")
    assert "<|im_start|>assistant<|im_sep|>Paris<|im_end|>" in text("phi_4")
    assert "<｜User｜>Capital of France?<｜Assistant｜>Paris<｜end▁of▁sentence｜>" in text("deepseek_v3")
    # Qwen3: an empty thinking block before the answer after the last user turn only.
    qwen3 = text("qwen3")
    assert "assistant\nParis<|im_end|>" in qwen3 and "<think>\n\n</think>\n\nSeven hundred<|im_end|>" in qwen3
    assert text("falcon_h1").startswith(f"{default_bundle.bos_token}<|im_start|>system\n")


def test_unknown_names_are_errors_listing_the_known_ones(default_bundle) -> None:
    assert "llama3" in (check_name("llama99") or "")
    with pytest.raises(DataError) as err:
        resolve_template(default_bundle, "llama99")
    assert err.value.location.field == "chat_template" and "qwen3" in err.value.message
    assert check_name("{% for m in messages %}{{ m['content'] }}{% endfor %}") is None  # Jinja: not a name


def test_tokenizer_default_and_its_fallback(default_bundle) -> None:
    from dataclasses import replace

    without = replace(default_bundle, chat_template=None)
    assert resolve_template(default_bundle, "tokenizer_default") == default_bundle.chat_template
    assert resolve_template(default_bundle, "tokenizer_default_fallback_llama3") == default_bundle.chat_template
    assert resolve_template(without, "tokenizer_default_fallback_llama3") == KNOWN["llama3"].jinja
    assert check_name("tokenizer_default_fallback_nope") is not None


def test_a_template_that_keeps_only_the_last_answer_trains_on_it(default_bundle) -> None:
    last_only = (
        "{% for m in messages %}{% if m['role'] != 'assistant' or loop.last %}"
        "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endif %}{% endfor %}"
    )
    rendered = render(conversation(), default_bundle, last_only)
    assert rendered.dropped_turns == 1 and len(rendered.completion_spans) == 1
    none_kept = "{% for m in messages %}{% if m['role'] != 'assistant' %}{{ m['content'] }}{% endif %}{% endfor %}"
    with pytest.raises(DataError, match="renders none"):
        render(conversation(), default_bundle, none_kept)


def test_describe_reports_dropped_turns(tmp_path) -> None:
    import json

    from tuneahead.data.describe import describe
    from tuneahead.recipe.model import Recipe

    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"},
                          {"role": "user", "content": "again"}, {"role": "assistant", "content": f"b{i}"}]}
            for i in range(20)]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    last_only = (
        "{% for m in messages %}{% if m['role'] != 'assistant' or loop.last %}"
        "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endif %}{% endfor %}"
    )
    result = describe(data, recipe=Recipe(base_model="tiny-1m", chat_template=last_only))
    finding = next(f for f in result.findings if f.code == "template_drops_turns")
    assert "20 of 20 examples" in finding.evidence
