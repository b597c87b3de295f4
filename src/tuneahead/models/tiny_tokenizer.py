"""The tokenizer shared by the built-in tiny models: byte-level BPE, ~2k tokens, ChatML specials.

Trained with the `tokenizers` library on offline text (see `tuneahead.models.corpus`) and saved
through transformers, so the folder is an ordinary Hugging Face tokenizer folder
(`tokenizer.json` + `tokenizer_config.json` with the chat template inside). The committed copy
lives in `assets/models/tiny-tokenizer/`; `scripts/build_tiny_tokenizer.py` rebuilds it.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable
from pathlib import Path

# Fixed ids 0..3: the tiny model configs name them (bos/eos/pad ids) without reading the tokenizer.
SPECIAL_TOKENS: tuple[str, ...] = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>")
BOS, IM_START, EOS, PAD = SPECIAL_TOKENS  # <|endoftext|> separates pretraining documents
VOCAB_SIZE = 2048
NAME = "tuneahead-tiny"


def train_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE):
    """Train a byte-level BPE on `texts`; the result is deterministic for the same texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    # Single digits (as SmolLM does) so numbers stay compositional; GPT-2 style byte-level split after.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    # Untrimmed offsets: loss masks map answer characters to tokens through them.
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def save_tokenizer_folder(tokenizer, out_dir: str | Path, *, source: str) -> Path:
    """Write `tokenizer` as a Hugging Face folder with ChatML template and special tokens."""
    from transformers import PreTrainedTokenizerFast

    from tuneahead.chat_templates import CHATML_TEMPLATE

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=None,
        model_max_length=512,
        clean_up_tokenization_spaces=False,
    )
    hf.chat_template = CHATML_TEMPLATE
    # The template goes inside tokenizer_config.json, which every transformers version reads.
    hf.save_pretrained(str(out), save_jinja_files=False)
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # A class name every transformers release resolves (5.x writes its new backend's name).
    config.update({"tokenizer_class": "PreTrainedTokenizerFast", "name": NAME, "source": source})
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def build(out_dir: str | Path, *, synthetic: int = 40_000, max_stdlib_bytes: int | None = None) -> dict:
    """Train on the stdlib + synthetic corpus and save; returns what went in (for the README)."""
    from tuneahead.models.corpus import stdlib_dir, stdlib_documents, synthetic_documents

    stats: dict[str, object] = {"synthetic_documents": synthetic}
    counts = {"stdlib_documents": 0, "stdlib_chars": 0}

    def texts() -> Iterable[str]:
        for doc in stdlib_documents(max_bytes=max_stdlib_bytes):
            counts["stdlib_documents"] += 1
            counts["stdlib_chars"] += len(doc)
            yield doc
        yield from synthetic_documents(synthetic, seed=0)

    tokenizer = train_tokenizer(texts())
    python = f"Python {platform.python_version()}"
    source = f"byte-level BPE trained on the {python} standard library (PSF License) and synthetic text"
    save_tokenizer_folder(tokenizer, out_dir, source=source)
    stats.update(counts)
    stats.update(
        {"python": python, "stdlib": str(stdlib_dir().name), "vocab_size": tokenizer.get_vocab_size()}
    )
    return stats
