"""The tiny models' tokenizer: loads as an HF folder, keeps special tokens whole, renders ChatML."""

from __future__ import annotations

import itertools
import json

import pytest

from tuneahead.data.example import Example, Message
from tuneahead.data.render import CHATML_TEMPLATE, resolve_template, tokenize_batch
from tuneahead.models.corpus import stdlib_dir, stdlib_files, synthetic_documents
from tuneahead.models.tiny_tokenizer import SPECIAL_TOKENS, VOCAB_SIZE, train_tokenizer
from tuneahead.models.tokenizer import load_tokenizer_folder, resolve_tokenizer
from tuneahead.models.zoo import TINY_MODELS, builtin_tokenizer_folder


@pytest.fixture(scope="module")
def bundle():
    folder = builtin_tokenizer_folder("tiny-1m")
    assert folder is not None
    return load_tokenizer_folder(folder)


def test_loads_with_special_tokens(bundle) -> None:
    assert bundle.name == "tuneahead-tiny"
    assert bundle.vocab_size == VOCAB_SIZE
    assert [bundle.token_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert bundle.eos_token == "<|im_end|>" and bundle.pad_token == "<|pad|>"
    assert not bundle.pad_equals_eos
    assert bundle.chat_template == CHATML_TEMPLATE  # stored inside tokenizer_config.json
    config = json.loads((builtin_tokenizer_folder("tiny-1m") / "tokenizer_config.json").read_text())
    assert config["chat_template"] == CHATML_TEMPLATE
    # Every tiny config names the same ids and vocabulary size.
    for cfg in TINY_MODELS.values():
        assert (cfg["vocab_size"], cfg["eos_token_id"], cfg["pad_token_id"]) == (
            bundle.vocab_size,
            bundle.eos_id,
            bundle.pad_id,
        )


def test_round_trips_text(bundle) -> None:
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "def add(a, b):\n    return a + b  # 12345\n",
        "Café naïve — 東京 🚀 tabs\tand  double  spaces",
    ]
    for text in texts:
        ids = bundle.tokenizer.encode(text).ids
        assert max(ids) < VOCAB_SIZE
        assert bundle.tokenizer.decode(ids, skip_special_tokens=False) == text
    # Digits are single tokens, so numbers stay compositional.
    assert bundle.tokenizer.encode("2024").tokens == ["2", "0", "2", "4"]
    # Common words are single tokens: the BPE learned from the corpus.
    common = "Return the value of the function for the given object."
    assert len(bundle.tokenizer.encode(common).ids) <= 12


def test_special_tokens_stay_whole(bundle) -> None:
    enc = bundle.tokenizer.encode("<|im_start|>user\nhi<|im_end|><|pad|><|endoftext|>")
    assert enc.ids[0] == 1 and enc.ids[-3:] == [2, 3, 0]


def test_chat_template_renders_through_render(bundle) -> None:
    chat = Example(
        "t:1",
        "messages",
        (
            Message("system", "Be brief."),
            Message("user", "Capital of France?"),
            Message("assistant", "Paris"),
        ),
    )
    raw = Example("t:2", "prompt_completion", prompt="2 + 2 =", completion=" 4")
    template = resolve_template(bundle, None)
    tok_chat, tok_raw = tokenize_batch([chat, raw], bundle, template, loss_on="completion")
    decode = bundle.tokenizer.decode
    text = decode(tok_chat.input_ids.tolist(), skip_special_tokens=False)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n"
        "<|im_start|>assistant\nParis<|im_end|>\n"
    )
    answer = tok_chat.input_ids[tok_chat.loss_mask].tolist()
    assert decode(answer, skip_special_tokens=False) == "Paris<|im_end|>"
    assert decode(tok_raw.input_ids[tok_raw.loss_mask].tolist(), skip_special_tokens=False) == " 4<|im_end|>"


def test_describe_finds_the_tiny_tokenizer_by_model_name() -> None:
    found, note = resolve_tokenizer(model="tiny-4m")
    assert note is None and found.name == "tuneahead-tiny"
    assert builtin_tokenizer_folder("not-a-tiny-model") is None


def test_training_is_deterministic_and_fixes_special_ids() -> None:
    def corpus():
        return itertools.chain(synthetic_documents(500, seed=3), ["def f(x):\n    return x\n"] * 20)

    a, b = train_tokenizer(corpus(), vocab_size=400), train_tokenizer(corpus(), vocab_size=400)
    assert a.to_str() == b.to_str()
    assert [a.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert a.get_vocab_size() == 400


def test_stdlib_corpus_is_sorted_and_skips_tests() -> None:
    files = stdlib_files()
    assert len(files) > 100
    rel = [f.relative_to(stdlib_dir()).as_posix() for f in files]
    assert rel == sorted(rel)
    assert not any(part in ("test", "tests", "site-packages") for r in rel for part in r.split("/")[:-1])


def test_a_live_fast_tokenizer_becomes_a_bundle():
    from transformers import PreTrainedTokenizerFast

    from tuneahead.errors import ModelError
    from tuneahead.models.tokenizer import bundle_from_hf, load_default_tokenizer

    base = load_default_tokenizer()
    hf = PreTrainedTokenizerFast(tokenizer_object=base.tokenizer, eos_token=base.eos_token, pad_token=base.pad_token,
                                 chat_template=base.chat_template)
    bundle = bundle_from_hf(hf)
    assert bundle.eos_id == base.eos_id and bundle.chat_template == base.chat_template
    assert bundle.tokenizer.encode("hello world").ids == base.tokenizer.encode("hello world").ids
    with pytest.raises(ModelError, match="not a fast tokenizer"):
        bundle_from_hf(object())
