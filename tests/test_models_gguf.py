"""GGUF loading: a tiny llama GGUF written here (llama.cpp's layout) loads, caches and matches."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")

from tuneahead.models.loading import load_model, resolve_model_ref
from tuneahead.models.zoo import TINY_MODELS, builtin_tokenizer_folder


def _permute(weights: np.ndarray, n_head: int, n_head_kv: int) -> np.ndarray:
    # llama.cpp's convert_hf_to_gguf reorders q/k rows for its rotary layout; transformers undoes it.
    if n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_tiny_gguf(model, path: Path, quantize: bool = False) -> Path:
    """Write an HF Llama model and the tiny tokenizer as a llama-architecture GGUF file."""
    cfg = model.config
    tok = json.loads((builtin_tokenizer_folder("tiny-0.2m") / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    specials = {t["content"]: t["id"] for t in tok["added_tokens"]}
    tokens = [t for t, _ in vocab]
    assert all(tokens[i] == t for t, i in specials.items())
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    token_types = [gguf.TokenType.CONTROL if t in specials else gguf.TokenType.NORMAL for t in tokens]

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tuneahead tiny test")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(specials["<|endoftext|>"])
    writer.add_eos_token_id(specials["<|im_end|>"])
    writer.add_pad_token_id(specials["<|pad|>"])
    writer.add_chat_template(
        json.loads(
            (builtin_tokenizer_folder("tiny-0.2m") / "tokenizer_config.json").read_text(encoding="utf-8")
        )["chat_template"]
    )

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight":  # tied: llama.cpp omits output.weight
            continue
        base, suffix = hf_name.rsplit(".", 1)
        data = tensor.detach().float().numpy().copy()
        if base.endswith("q_proj"):
            data = _permute(data, cfg.num_attention_heads, cfg.num_attention_heads)
        elif base.endswith("k_proj"):
            data = _permute(data, cfg.num_attention_heads, cfg.num_key_value_heads)
        name = f"{names.get_name(base)}.{suffix}"
        if quantize and data.ndim == 2 and data.shape[1] % 32 == 0:
            packed = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, packed, raw_shape=packed.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TUNEAHEAD_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def reference():
    return load_model("tiny-0.2m", seed=7).model


def _logits(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


IDS = [1, 400, 17, 250, 2, 999, 1500, 3, 12, 77]


def test_gguf_file_loads_matches_and_is_cached(tmp_path: Path, cache: Path, reference) -> None:
    path = write_tiny_gguf(reference, tmp_path / "tiny.gguf")
    assert resolve_model_ref(str(path)).kind == "gguf"
    assert resolve_model_ref(str(tmp_path)).kind == "gguf"  # a folder holding one .gguf file

    first = load_model(str(path))
    assert first.kind == "gguf" and first.name == "tiny"
    assert first.convert_seconds is not None and "dequantised" in first.source
    torch.testing.assert_close(_logits(first.model, IDS), _logits(reference, IDS), atol=1e-5, rtol=1e-5)
    assert first.config["num_hidden_layers"] == TINY_MODELS["tiny-0.2m"]["num_hidden_layers"]

    # The cached folder is an ordinary HF folder of safetensors, and a second load skips conversion.
    folders = list((cache / "gguf-models").iterdir())
    assert len(folders) == 1 and (folders[0] / "model.safetensors").is_file()
    assert not list(folders[0].glob("*.bin"))
    started = time.perf_counter()
    second = load_model(str(path))
    assert second.convert_seconds is None
    assert time.perf_counter() - started < 5
    torch.testing.assert_close(_logits(second.model, IDS), _logits(reference, IDS), atol=1e-5, rtol=1e-5)

    # The embedded tokenizer came along: same special tokens, same ids as the tiny tokenizer.
    tiny = load_model("tiny-0.2m").bundle
    assert second.bundle.eos_token == "<|im_end|>" and second.bundle.pad_token == "<|pad|>"
    text = "<|im_start|>user\nWhat is 12 plus 30?<|im_end|>\n<|im_start|>assistant\nThe answer is 42."
    assert second.bundle.tokenizer.encode(text).ids == tiny.tokenizer.encode(text).ids
    assert second.bundle.chat_template == tiny.chat_template

    # A changed file (new mtime) is converted again, under a new key.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_model(str(path)).convert_seconds is not None
    assert len(list((cache / "gguf-models").iterdir())) == 2


def test_quantized_gguf_is_dequantised(tmp_path: Path, cache: Path, reference) -> None:
    path = write_tiny_gguf(reference, tmp_path / "tiny-q8.gguf", quantize=True)
    loaded = load_model(str(path))
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    got, want = _logits(loaded.model, IDS), _logits(reference, IDS)
    assert not torch.equal(got, want)  # Q8_0 rounding happened ...
    # ... and stayed small relative to the logits' own scale (pretrained logits span tens of nats).
    assert float((got - want).abs().max()) < 0.05 * float(want.abs().max())
    assert torch.equal(got.argmax(-1), want.argmax(-1))


def test_unreadable_gguf_is_a_model_error(tmp_path: Path, cache: Path) -> None:
    from tuneahead.errors import ModelError

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF not really")
    with pytest.raises(ModelError, match="cannot read this GGUF file"):
        load_model(str(bad))
    assert not (cache / "gguf-models").exists() or not list((cache / "gguf-models").iterdir())
