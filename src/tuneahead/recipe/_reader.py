"""Shared machinery of the framework readers: typed key access, bookkeeping, and building the `Recipe`.

A `ConfigReader` wraps one parsed file. Readers ask it for typed values by the framework's own key
names; it remembers which keys were used, which Recipe fields came from the framework's defaults, and
which framework key fed each Recipe field, so that any validation error names the key the user wrote.
Keys nobody asked for are reported afterwards as unsupported (known to the framework) or unknown.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from tuneahead.errors import Location, RecipeError
from tuneahead.recipe._files import RawConfig
from tuneahead.recipe.model import Recipe, RecipeSource

T = TypeVar("T")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}

# Suffixes that mark a value as a local file even when it does not exist (yet).
DATA_SUFFIXES = (
    ".jsonl", ".json", ".parquet", ".csv", ".tsv", ".txt", ".arrow", ".jsonl.gz", ".json.gz", ".jsonl.zst",
)
MODEL_SUFFIXES = (".gguf", ".safetensors", ".bin")


def show(value: Any, limit: int = 60) -> str:
    """A short, quoted rendering of a user value for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def resolve_local(value: str, base_dir: Path, suffixes: tuple[str, ...] = DATA_SUFFIXES) -> str:
    """Resolve `value` against the recipe's folder when it is (or clearly names) a local path.

    Hub ids and built-in names ("org/name", "tiny-1m") are left alone; a relative path is resolved
    when it starts with ./ or ../, ends with a known file suffix, or exists next to the recipe.
    The file need not exist: datasets are often written after the recipe.
    """
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return os.path.normpath(expanded)
    candidate = base_dir / expanded
    explicit = expanded.startswith(("./", "../", ".\\", "..\\")) or expanded in {".", ".."}
    # os.path.exists, not Path.exists: a name too long for the file system is just "not there".
    if explicit or expanded.lower().endswith(suffixes) or os.path.exists(candidate):
        return os.path.normpath(candidate)
    return value


class ConfigReader:
    """Typed, tracked access to one recipe file's keys (see module docstring)."""

    def __init__(self, raw: RawConfig, framework: str):
        self.raw = raw
        self.framework = framework
        self.data: dict[str, Any] = raw.data
        self._used: set[str] = set()
        self.fields: dict[str, Any] = {}  # Recipe field path ("adapter.rank") -> value
        self.origin: dict[str, str] = {}  # Recipe field path -> framework key it came from
        self.defaults_applied: list[str] = []
        self.notes: list[str] = []
        self.unsupported: list[str] = []  # extra entries besides leftover known keys (e.g. dataset sub-keys)
        self.unknown: list[str] = []

    # ---- locations and errors ----

    @property
    def base_dir(self) -> Path:
        return self.raw.base_dir

    def location(self, key: str | None) -> Location:
        return self.raw.location(key)

    def error(self, key: str | None, message: str, hint: str | None = None) -> RecipeError:
        return RecipeError(message, self.location(key), hint=hint)

    # ---- raw access ----

    def has(self, key: str) -> bool:
        """True when the key is present with a value (YAML `key:` with nothing after it means unset)."""
        return self.data.get(key) is not None

    def peek(self, key: str) -> Any:
        """Read without marking the key as used (it will still be reported if nothing maps it)."""
        return self.data.get(key)

    def take(self, key: str) -> Any:
        """Read a key and mark it as used; None when absent or null."""
        if key in self.data:
            self._used.add(key)
        return self.data.get(key)

    def mark_used(self, *keys: str) -> None:
        self._used.update(k for k in keys if k in self.data)

    def leftover_keys(self) -> list[str]:
        """Keys no mapping used; a key left empty (`key:` / null) sets nothing, so it is not reported."""
        return [k for k, v in self.data.items() if k not in self._used and v is not None]

    # ---- typed access (None when absent; RecipeError naming key and file on a wrong type) ----

    def number(self, key: str) -> float | None:
        return to_number(self.take(key), key, self)

    def integer(self, key: str) -> int | None:
        return to_integer(self.take(key), key, self)

    def boolean(self, key: str) -> bool | None:
        return to_boolean(self.take(key), key, self)

    def string(self, key: str) -> str | None:
        return to_string(self.take(key), key, self)

    def string_list(self, key: str, comma_separated: bool = False) -> list[str] | None:
        return to_string_list(self.take(key), key, self, comma_separated)

    # ---- recording Recipe fields ----

    def set(self, field: str, value: Any, key: str) -> None:
        """A Recipe field taken from the user's key `key`."""
        self.fields[field] = value
        self.origin[field] = key

    def default(self, field: str, value: Any) -> None:
        """A Recipe field filled from the framework's default (recorded in defaults_applied)."""
        self.fields[field] = value
        if field not in self.defaults_applied:
            self.defaults_applied.append(field)

    def field(self, field: str, key: str, getter: Callable[[str], T | None], default: T) -> T:
        """Map one key to one field: the user's value when present, else the framework default."""
        value = getter(key)
        if value is None:
            self.default(field, default)
            return default
        self.set(field, value, key)
        return value

    def chat_template(self, key: str) -> str | None:
        """A chat template key: Jinja source, or a template name this project knows (an unknown name is an
        error at its line, listing the known ones, as the frameworks refuse it too)."""
        from tuneahead.chat_templates import check_name

        value = self.string(key)
        problem = check_name(value) if value is not None else None
        if problem:
            raise self.error(key, problem)
        return value

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ---- finishing ----

    def classify_leftovers(self, known: Iterable[str]) -> None:
        """Leftover keys the framework defines go to unsupported, the rest to unknown."""
        known_set = set(known)
        for key in self.leftover_keys():
            (self.unsupported if key in known_set else self.unknown).append(key)

    def build(self) -> Recipe:
        """Construct the Recipe; fields no key or framework default set keep the Recipe's own defaults."""
        for name in _all_field_paths():
            if name not in self.fields and name not in self.defaults_applied:
                self.defaults_applied.append(name)  # e.g. num_devices: no framework config states it
        source = RecipeSource(
            framework=self.framework,  # type: ignore[arg-type]
            path=str(self.raw.path),
            unknown_keys=list(dict.fromkeys(self.unknown)),
            unsupported_keys=list(dict.fromkeys(self.unsupported)),
            defaults_applied=list(self.defaults_applied),
            notes=list(self.notes),
        )
        return construct_recipe(nest(self.fields), source, self.raw, self.origin)


# ---- value conversion (also used for nested values such as dataset entries) ----


def _type_error(key: str, reader: ConfigReader, expected: str, value: Any) -> RecipeError:
    return reader.error(key, f"expected {expected}, got {show(value)}")


def to_number(value: Any, key: str, reader: ConfigReader) -> float | None:
    """A float from a number or a numeric string: YAML 1.1 reads `2e-4` (no dot) as a string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _type_error(key, reader, "a number", value)
    if isinstance(value, int | float):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise _type_error(key, reader, "a number", value) from None
    else:
        raise _type_error(key, reader, "a number", value)
    if not math.isfinite(out):
        raise _type_error(key, reader, "a finite number", value)
    return out


def to_integer(value: Any, key: str, reader: ConfigReader) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _type_error(key, reader, "an integer", value)
    if isinstance(value, int):
        return value
    try:
        number = to_number(value, key, reader)
    except RecipeError:
        number = None
    if number is None or not number.is_integer():
        raise _type_error(key, reader, "an integer", value) from None
    return int(number)


def to_boolean(value: Any, key: str, reader: ConfigReader) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _type_error(key, reader, "true or false", value)


def to_string(value: Any, key: str, reader: ConfigReader) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type_error(key, reader, "a string", value)
    return value


def to_string_list(value: Any, key: str, reader: ConfigReader, comma_separated: bool = False) -> list[str] | None:
    """A list of strings; a single string is one item, or several when the framework splits on commas."""
    if value is None:
        return None
    if isinstance(value, str):
        items = value.split(",") if comma_separated else [value]
        return [item.strip() for item in items if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise _type_error(key, reader, "a string or a list of strings", value)


# ---- building the Recipe and translating validation errors ----


def nest(fields: Mapping[str, Any]) -> dict[str, Any]:
    """{"adapter.rank": 8} -> {"adapter": {"rank": 8}}."""
    out: dict[str, Any] = {}
    for path, value in fields.items():
        head, _, rest = path.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = value
        else:
            out[head] = value
    return out


def _all_field_paths() -> list[str]:
    from tuneahead.recipe.model import AdapterConfig

    paths = [name for name in Recipe.model_fields if name not in ("source", "adapter")]
    paths += [f"adapter.{name}" for name in AdapterConfig.model_fields]
    return paths


_EXPECTED = {
    "float_parsing": "a number", "float_type": "a number", "finite_number": "a finite number",
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a string", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def describe_validation_error(err: Mapping[str, Any]) -> str:
    """One pydantic error as 'expected X, got Y' (or pydantic's own words for range checks)."""
    kind = err.get("type", "")
    value = err.get("input")
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {show(value)}"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"expected one of {expected}; got {show(value)}"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(err.get("msg", "invalid value"))
    return f"{message[:1].lower()}{message[1:]}, got {show(value)}"


def loc_to_path(loc: tuple[Any, ...]) -> str:
    """('datasets', 0, 'format') -> 'datasets[0].format'; union-branch tags from pydantic are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not part.isidentifier():
            continue  # a union-branch tag such as "list[str]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def construct_recipe(
    data: dict[str, Any], source: RecipeSource, raw: RawConfig, origin: Mapping[str, str] | None = None
) -> Recipe:
    """Recipe(**data), with a ValidationError turned into a RecipeError naming the user's own key."""
    try:
        return Recipe(**data, source=source)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        path = loc_to_path(tuple(first.get("loc", ())))
        key = path
        if origin is not None:
            # Name the framework's key; a nested path (datasets[0].format) falls back to its top-level field.
            head = re.split(r"[.\[]", path)[0]
            key = origin.get(path) or origin.get(head) or path
        message = describe_validation_error(first)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise RecipeError(message, raw.location(key)) from None


def did_you_mean(key: str, candidates: Iterable[str]) -> str | None:
    """The closest known key to a probable typo, if any is close enough."""
    import difflib

    leaf = re.split(r"[.\]]", key)[-1] or key
    match = difflib.get_close_matches(leaf, sorted(set(candidates)), n=1, cutoff=0.75)
    return match[0] if match else None
