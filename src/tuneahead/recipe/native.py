"""TuneAhead's own recipe format (YAML or TOML): the `Recipe` field names, read strictly.

```yaml
tuneahead_recipe: 1            # format marker and version
base_model: HuggingFaceTB/SmolLM2-135M-Instruct
adapter: {type: lora, rank: 16, alpha: 32, target_modules: all-linear}   # or just `adapter: full`
learning_rate: 2e-4
datasets:
  - ../data/train.jsonl                         # a path, or a mapping:
  - {path: ../data/more.jsonl, format: messages}
eval_datasets: [../data/eval.jsonl]
```

Because the format is ours, an unknown key is an error (with the closest known key as a hint), and
every absent field takes the `Recipe`'s own default, listed in `source.defaults_applied`.
Relative dataset paths (and local model paths) resolve against the recipe file's folder.
"""

from __future__ import annotations

from typing import Any

from tuneahead.errors import RecipeError
from tuneahead.recipe._files import RawConfig
from tuneahead.recipe._reader import (
    MODEL_SUFFIXES,
    construct_recipe,
    did_you_mean,
    resolve_local,
    show,
)
from tuneahead.recipe.model import AdapterConfig, Recipe, RecipeSource

MARKER = "tuneahead_recipe"
FORMAT_VERSION = 1
NATIVE_KEYS: frozenset[str] = frozenset({MARKER, *(name for name in Recipe.model_fields if name != "source")})
ADAPTER_KEYS: frozenset[str] = frozenset(AdapterConfig.model_fields)


def read_native(raw: RawConfig) -> Recipe:
    data: dict[str, Any] = dict(raw.data)
    unknown = [key for key in data if key not in NATIVE_KEYS]
    if unknown:
        key = unknown[0]
        guess = did_you_mean(key, NATIVE_KEYS)
        others = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise RecipeError(
            f"unknown key '{key}' in a TuneAhead recipe{others}",
            raw.location(key),
            hint=f"did you mean '{guess}'?" if guess else f"known keys: {', '.join(sorted(NATIVE_KEYS))}",
        )
    if MARKER in data:
        version = data.pop(MARKER)
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise RecipeError(
                f"unsupported recipe format version {show(version)}; this TuneAhead reads version {FORMAT_VERSION}",
                raw.location(MARKER),
            )

    if isinstance(data.get("adapter"), str):  # shorthand: `adapter: full`
        data["adapter"] = {"type": data["adapter"]}
    for key in ("base_model", "tokenizer"):
        if isinstance(data.get(key), str):
            data[key] = resolve_local(data[key], raw.base_dir, MODEL_SUFFIXES)
    for key in ("datasets", "eval_datasets"):
        if isinstance(data.get(key), list):
            data[key] = [_dataset_entry(item, raw) for item in data[key]]

    source = RecipeSource(
        framework="native", path=str(raw.path), defaults_applied=_defaults_applied(data)
    )
    return construct_recipe(data, source, raw)


def _dataset_entry(item: Any, raw: RawConfig) -> Any:
    if isinstance(item, str):
        return {"path": resolve_local(item, raw.base_dir)}
    if isinstance(item, dict) and isinstance(item.get("path"), str):
        return {**item, "path": resolve_local(item["path"], raw.base_dir)}
    return item  # let validation name the problem


def _defaults_applied(data: dict[str, Any]) -> list[str]:
    applied = [name for name in Recipe.model_fields if name not in ("source", "adapter") and name not in data]
    adapter = data.get("adapter")
    given = adapter if isinstance(adapter, dict) else {}
    applied += [f"adapter.{name}" for name in AdapterConfig.model_fields if name not in given]
    return applied
