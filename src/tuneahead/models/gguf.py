"""GGUF files: dequantise once through transformers, then keep a safetensors copy in the cache.

Dequantising takes seconds to tens of seconds; reloading the cached folder takes a fraction of a
second. The cache key is the file's resolved path, size and modification time, so a replaced file
is converted again. The cached folder is an ordinary Hugging Face model folder (config.json,
model.safetensors, tokenizer files) and is written under a temporary name, then renamed, so an
interrupted conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from tuneahead.errors import Location, ModelError

_MARKER = "tuneahead-gguf.json"  # written last: its presence means the folder is complete


def cache_folder(gguf_path: Path) -> Path:
    from tuneahead.paths import cache_dir

    resolved = gguf_path.resolve()
    stat = resolved.stat()
    key = hashlib.sha256(f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir() / "gguf-models" / f"{resolved.stem}-{key}"


def is_cached(gguf_path: Path) -> bool:
    return (cache_folder(gguf_path) / _MARKER).is_file()


def cached_model_folder(gguf_path: str | Path) -> tuple[Path, float | None]:
    """The cached safetensors folder for a GGUF file, converting it first when needed.

    Returns the folder and the conversion time in seconds (None when it was already cached).
    """
    gguf_path = Path(gguf_path)
    folder = cache_folder(gguf_path)
    if (folder / _MARKER).is_file():
        return folder, None
    started = time.perf_counter()
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _convert(gguf_path, tmp)
        seconds = time.perf_counter() - started
        marker = {
            "source": str(gguf_path.resolve()),
            "size": gguf_path.stat().st_size,
            "convert_seconds": seconds,
        }
        (tmp / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if (folder / _MARKER).is_file():  # another process finished first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)  # a stale, incomplete folder
            try:
                tmp.rename(folder)
            except OSError:  # lost a race with another process converting the same file
                if not (folder / _MARKER).is_file():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder, seconds


def _convert(gguf_path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from tuneahead.models.offline import hub_offline
    from tuneahead.models.tokenizer import load_gguf_tokenizer

    kwargs: dict = {}
    try:  # newer transformers may keep weights packed in GGUF blocks; we want a plain dense model
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:  # older releases always dequantise
        pass
    with hub_offline():
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf_path.parent),
                gguf_file=gguf_path.name,
                local_files_only=True,
                trust_remote_code=False,
                dtype=torch.float32,
                **kwargs,
            )
        except Exception as exc:  # noqa: BLE001 -- unsupported architecture, corrupt file, no gguf package
            raise ModelError(
                f"cannot read this GGUF file: {exc}",
                Location(file=str(gguf_path)),
                hint="transformers dequantises GGUF files of the architectures it supports (llama, mistral, "
                "qwen2, ...); for others, pass a Hugging Face folder with safetensors weights",
            ) from None
    # The weights are plain tensors now; drop the GGUF quantizer so save_pretrained writes safetensors.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if not getattr(model.config, "architectures", None):
        model.config.architectures = [type(model).__name__]
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    del model
    # The tokenizer conversion is shared with token counting (`describe`), which caches it too.
    tokenizer_folder = Path(load_gguf_tokenizer(gguf_path).source)
    for item in tokenizer_folder.iterdir():
        if item.is_file():
            shutil.copy2(item, out / item.name)
