"""Tokenizers for token counting, rendering and the probe, loaded locally without importing torch.

A `TokenizerBundle` pairs a fast `tokenizers.Tokenizer` with the facts a fine-tune depends on:
special tokens (EOS, PAD, BOS) and the chat template. It loads from a Hugging Face folder
(`tokenizer.json` + `tokenizer_config.json`), from a GGUF file (through transformers, cached), or
falls back to the bundled default (SmolLM2's 49k BPE tokenizer, Apache-2.0). Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tuneahead.errors import Location, ModelError
from tuneahead.models.zoo import BUILTIN_HUB_ALIASES
from tuneahead.paths import is_hub_id

DEFAULT_TOKENIZER_NAME = "bundled default (SmolLM2 BPE, 49,152 tokens)"


@dataclass(frozen=True)
class TokenizerBundle:
    tokenizer: object  # tokenizers.Tokenizer (typed loosely to keep the import lazy)
    name: str
    source: str  # where it was loaded from, for reports
    eos_token: str | None = None
    pad_token: str | None = None
    bos_token: str | None = None
    chat_template: str | None = None
    is_default: bool = False
    extra_special: dict[str, str] = field(default_factory=dict)

    def token_id(self, token: str | None) -> int | None:
        return None if token is None else self.tokenizer.token_to_id(token)  # type: ignore[attr-defined]

    @property
    def eos_id(self) -> int | None:
        return self.token_id(self.eos_token)

    @property
    def pad_id(self) -> int | None:
        return self.token_id(self.pad_token)

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))  # type: ignore[attr-defined]

    @property
    def pad_equals_eos(self) -> bool:
        return self.pad_token is not None and self.pad_token == self.eos_token

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "is_default": self.is_default,
            "vocab_size": self.vocab_size,
            "eos_token": self.eos_token,
            "pad_token": self.pad_token,
            "chat_template": self.chat_template is not None,
        }


def _token_text(value: object) -> str | None:
    # tokenizer_config.json stores special tokens as strings or as AddedToken dicts.
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read tokenizer file: {exc}", Location(file=str(path))) from None


def load_tokenizer_folder(folder: str | Path, *, name: str | None = None) -> TokenizerBundle:
    """Load a Hugging Face tokenizer folder that holds a fast `tokenizer.json`."""
    from tokenizers import Tokenizer

    folder = Path(folder)
    tok_file = folder / "tokenizer.json"
    if not tok_file.is_file():
        raise ModelError(
            "no tokenizer.json (fast tokenizer) in this folder",
            Location(file=str(folder)),
            hint="save the tokenizer with a recent transformers (`tokenizer.save_pretrained(dir)`), "
            "which writes tokenizer.json",
        )
    try:
        tokenizer = Tokenizer.from_file(str(tok_file))
    except Exception as exc:  # tokenizers raises a bare Exception on malformed files
        raise ModelError(f"cannot parse tokenizer.json: {exc}", Location(file=str(tok_file))) from None
    config = _read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
    special = (
        _read_json(folder / "special_tokens_map.json") if (folder / "special_tokens_map.json").is_file() else {}
    )

    def pick(key: str) -> str | None:
        return _token_text(config.get(key)) or _token_text(special.get(key))

    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: [{"name": "default", "template": ...}, ...]
        by_name = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = by_name.get("default") or next(iter(by_name.values()), None)
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.is_file():
        template = jinja_file.read_text(encoding="utf-8")
    return TokenizerBundle(
        tokenizer=tokenizer,
        name=name or config.get("name") or folder.name,
        source=str(folder),
        eos_token=pick("eos_token"),
        pad_token=pick("pad_token"),
        bos_token=pick("bos_token"),
        chat_template=template if isinstance(template, str) and template.strip() else None,
    )


@lru_cache(maxsize=1)
def load_default_tokenizer() -> TokenizerBundle:
    """The tokenizer bundled with TuneAhead (SmolLM2's), used when the model's own is not on disk."""
    from tokenizers import Tokenizer

    base = resources.files("tuneahead") / "assets" / "tokenizer"
    with resources.as_file(base) as folder:
        folder = Path(folder)
        with gzip.open(folder / "tokenizer.json.gz", "rt", encoding="utf-8") as fh:
            tokenizer = Tokenizer.from_str(fh.read())
        config = _read_json(folder / "tokenizer_config.json")
        template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    return TokenizerBundle(
        tokenizer=tokenizer,
        name=DEFAULT_TOKENIZER_NAME,
        source="bundled with tuneahead",
        eos_token=config["eos_token"],
        pad_token=config["pad_token"],
        bos_token=config["bos_token"],
        chat_template=template,
        is_default=True,
    )


def _gguf_tokenizer_cache(gguf_path: Path) -> Path:
    from tuneahead.paths import cache_dir

    stat = gguf_path.stat()
    return cache_dir() / "gguf-tokenizers" / f"{gguf_path.stem}-{stat.st_size}-{int(stat.st_mtime)}"


def load_gguf_tokenizer(gguf_path: str | Path) -> TokenizerBundle:
    """Tokenizer embedded in a GGUF file, converted once through transformers and cached as a folder."""
    gguf_path = Path(gguf_path)
    cached = _gguf_tokenizer_cache(gguf_path)
    if not (cached / "tokenizer.json").is_file():
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(
                str(gguf_path.parent), gguf_file=gguf_path.name, local_files_only=True, trust_remote_code=False
            )
        except Exception as exc:
            raise ModelError(
                f"cannot read the tokenizer in this GGUF file: {exc}", Location(file=str(gguf_path))
            ) from None
        cached.mkdir(parents=True, exist_ok=True)
        tok.save_pretrained(str(cached))
    return load_tokenizer_folder(cached, name=gguf_path.stem)


def resolve_tokenizer(
    *, tokenizer: str | None = None, model: str | None = None
) -> tuple[TokenizerBundle, str | None]:
    """Pick the tokenizer for token counting: explicit tokenizer > the model's own > bundled default.

    Returns the bundle and, when it falls back to the default, a note explaining why (reports show it).
    A path the user names explicitly as `tokenizer` must exist; a model that is not on disk only
    triggers the fallback, since `describe` must work without weights.
    """
    if tokenizer:
        path = Path(tokenizer).expanduser()
        if path.is_dir():
            return load_tokenizer_folder(path), None
        if path.suffix == ".gguf" and path.is_file():
            return load_gguf_tokenizer(path), None
        if tokenizer in BUILTIN_HUB_ALIASES:
            return load_default_tokenizer(), None
        if is_hub_id(tokenizer) and not path.exists():
            # A hub id that is not on disk (Axolotl's `tokenizer_config: org/name`): fall back as for a hub
            # model, instead of failing a check that must work without weights.
            bundle, note = resolve_tokenizer(model=model)
            return bundle, f"tokenizer {tokenizer!r} is not available locally; " + (
                note or f"the model's own tokenizer ({model}) is used")
        raise ModelError(
            "tokenizer not found locally (nothing is downloaded)",
            Location(field="tokenizer"),
            hint=f"pass a local folder holding tokenizer.json, or a .gguf file; got {tokenizer!r}",
        )
    if model:
        if model in BUILTIN_HUB_ALIASES:
            # The bundled default *is* SmolLM2's tokenizer.
            return load_default_tokenizer(), None
        path = Path(model).expanduser()
        if path.is_dir() and (path / "tokenizer.json").is_file():
            return load_tokenizer_folder(path), None
        if path.suffix == ".gguf" and path.is_file():
            return load_gguf_tokenizer(path), None
        builtin = _builtin_model_tokenizer(model)
        if builtin is not None:
            return builtin, None
        return load_default_tokenizer(), (
            f"model {model!r} is not available locally; a stand-in tokenizer is used ({DEFAULT_TOKENIZER_NAME}): "
            "token counts, truncation and the tokenizer's facts (pad, EOS, chat template) are the stand-in's"
        )
    return load_default_tokenizer(), (
        f"no model or tokenizer given; a stand-in tokenizer is used ({DEFAULT_TOKENIZER_NAME}): token counts, "
        "truncation and the tokenizer's facts (pad, EOS, chat template) are the stand-in's"
    )


def _builtin_model_tokenizer(model: str) -> TokenizerBundle | None:
    """Tokenizer of a built-in model name (e.g. `tiny-1m`), when the model zoo provides it."""
    try:
        from tuneahead.models.zoo import builtin_tokenizer_folder
    except ImportError:
        return None
    folder = builtin_tokenizer_folder(model)
    return None if folder is None else load_tokenizer_folder(folder)


def bundle_from_hf(tokenizer: object, *, name: str | None = None) -> TokenizerBundle:
    """A live Hugging Face fast tokenizer (`PreTrainedTokenizerFast`, what a trainer's `processing_class`
    holds) as a bundle: its `tokenizers` backend, special tokens and chat template."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelError(
            f"{type(tokenizer).__name__} is not a fast tokenizer (no backend_tokenizer)",
            Location(field="processing_class"),
            hint="load the tokenizer with use_fast=True, or pass data=... and a tokenizer folder",
        )
    template = getattr(tokenizer, "chat_template", None)
    source = str(getattr(tokenizer, "name_or_path", "") or "the trainer's tokenizer")
    return TokenizerBundle(
        tokenizer=backend,
        name=name or source,
        source=source,
        eos_token=_token_text(getattr(tokenizer, "eos_token", None)),
        pad_token=_token_text(getattr(tokenizer, "pad_token", None)),
        bos_token=_token_text(getattr(tokenizer, "bos_token", None)),
        chat_template=template if isinstance(template, str) and template.strip() else None,
    )
