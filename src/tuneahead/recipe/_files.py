"""Read a recipe file (YAML, TOML or JSON) into a plain mapping, with line numbers for YAML keys.

Parse errors become `RecipeError`s that carry the file and, where the parser knows it, the line.
Duplicate keys are an error: YAML and JSON parsers silently keep the last one, which hides typos.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tuneahead.errors import Location, RecipeError
from tuneahead.safe_yaml import AliasBombError, compose_bounded

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - exercised on Python 3.10 only
    try:
        import tomli as _toml
    except ModuleNotFoundError:
        _toml = None  # type: ignore[assignment]

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RawConfig:
    """A recipe file's top-level mapping, where it came from, and the line of each key (YAML only)."""

    data: dict[str, Any]
    path: Path  # absolute
    display: str  # the path as the user gave it, for messages
    key_lines: dict[str, int] = field(default_factory=dict)  # dotted key path -> 1-based line

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def location(self, key: str | None = None) -> Location:
        line = self.key_lines.get(key) if key else None
        return Location(file=self.display, line=line, field=key)


def read_config_file(path: str | Path) -> RawConfig:
    """Parse `path` by its suffix (.yaml/.yml, .toml, .json; anything else is tried as YAML)."""
    display = str(path)
    resolved = Path(path).expanduser().absolute()
    if not os.path.isfile(resolved):  # os.path's tests never raise (Path's do, for names too long)
        what = "is a folder, not a recipe file" if os.path.isdir(resolved) else "does not exist"
        raise RecipeError(f"recipe file {what}", Location(file=display))
    try:
        text = resolved.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(f"recipe file is not UTF-8 text ({exc.reason})", Location(file=display)) from exc
    except OSError as exc:
        raise RecipeError(f"cannot read recipe file: {exc.strerror or exc}", Location(file=display)) from exc

    suffix = resolved.suffix.lower()
    key_lines: dict[str, int] = {}
    if suffix == ".toml":
        data = _parse_toml(text, display)
    elif suffix == ".json":
        data = _parse_json(text, display)
    else:
        data, key_lines = _parse_yaml(text, display)

    if data is None:
        raise RecipeError("recipe file is empty", Location(file=display))
    if not isinstance(data, dict):
        raise RecipeError(
            f"a recipe must be a mapping of keys to values at the top level, got {type(data).__name__}",
            Location(file=display, line=1),
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise RecipeError(f"recipe keys must be strings, got {bad[0]!r}", Location(file=display))
    return RawConfig(data=data, path=resolved, display=display, key_lines=key_lines)


# ---- YAML ----


def _parse_yaml(text: str, display: str) -> tuple[Any, dict[str, int]]:
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # its reader already refuses control characters here
        node = compose_bounded(loader)
        if node is None:
            return None, {}
        lines: dict[str, int] = {}
        _walk_yaml(node, "", lines, display)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise RecipeError(f"cannot parse YAML: {problem}", Location(file=display, line=line)) from exc
    except yaml.YAMLError as exc:
        raise RecipeError(f"cannot parse YAML: {exc}", Location(file=display)) from exc
    except AliasBombError as exc:
        raise RecipeError(str(exc), Location(file=display)) from None
    except RecursionError:
        raise RecipeError("cannot parse YAML: nested too deeply", Location(file=display)) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _walk_yaml(
    node: yaml.Node, prefix: str, lines: dict[str, int], display: str, active: frozenset[int] = frozenset()
) -> None:
    """Record the line of every mapping key (dotted path, `[i]` for list items); reject duplicates."""
    if id(node) in active:  # a recursive alias (&a [*a]): nothing more to learn down there
        return
    active = active | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            line = key_node.start_mark.line + 1
            if path in lines and key_node.value != "<<":
                raise RecipeError(
                    f"key '{key_node.value}' appears twice (first on line {lines[path]})",
                    Location(file=display, line=line, field=path),
                )
            lines[path] = line
            _walk_yaml(value_node, path, lines, display, active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            lines.setdefault(path, item.start_mark.line + 1)
            _walk_yaml(item, path, lines, display, active)


# ---- JSON ----


def _parse_json(text: str, display: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise RecipeError(f"key '{key}' appears twice", Location(file=display, field=key))
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise RecipeError(f"cannot parse JSON: {exc.msg}", Location(file=display, line=exc.lineno)) from exc


# ---- TOML ----

_TOML_LINE = re.compile(r"at line (\d+)")


def _parse_toml(text: str, display: str) -> Any:
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise RecipeError(
            "reading TOML recipes on Python 3.10 needs the 'tomli' package",
            Location(file=display),
            hint="pip install tomli, or write the recipe as YAML",
        )
    try:
        return _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else None
        message = getattr(exc, "msg", None) or _TOML_LINE.sub("", str(exc)).strip(" ()")
        raise RecipeError(f"cannot parse TOML: {message}", Location(file=display, line=line)) from exc
