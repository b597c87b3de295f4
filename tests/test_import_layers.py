"""The import contract: the floors of the code base, lowest first, and no import that runs back up one.

Every import counts — module level, inside functions, and under TYPE_CHECKING — since a hidden upward
import is still a dependency. A package may import its own modules and any package on a lower floor; two
packages on one floor stay independent. Where to put what: docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "tuneahead"

FLOORS: list[set[str]] = [
    {"_version", "errors", "paths", "safe_yaml", "formatting", "chat_templates", "features", "compute"},  # import only each other
    {"recipe"},  # the Recipe model and the framework readers
    {"models"},  # model zoo, loading, tokenizers
    {"data"},  # ingestion, rendering and masks, descriptors, findings
    {"probe"},  # the probe engine and its features
    {"catalogue"},  # the whole feature catalogue (loads the feature plugins of data/ and probe/)
    {"store"},  # run history (SQLite), the run table, exports
    {"predict"},  # the predictor, calibration, intervals, SHAP
    {"evaluate"},  # metrics and the held-out harness (methods and cut-offs come in as arguments)
    {"baselines"},  # ProxyLM, early stop, ablations: methods the harness runs
    {"gate"},  # the check: target, policy, bundles, verdict
    {"report", "bench", "integrations"},  # views; TuneBench; framework integrations
    {"commands"},  # one module per CLI command
    {"cli"},
    {"root"},  # tuneahead/__init__: a lazy facade over the gate
]
FLOOR = {package: i for i, floor in enumerate(FLOORS) for package in floor}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return "root" if len(parts) == 1 else parts[1]


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tuneahead"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tuneahead"))
    return {m for m in found if m in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_every_package_has_a_floor() -> None:
    assert {_package(m) for m in _modules()} <= set(FLOOR)


def test_no_import_runs_back_up_a_floor() -> None:
    wrong = []
    for module, imported in _graph().items():
        here = _package(module)
        for other in imported:
            there = _package(other)
            if there != here and FLOOR[there] >= FLOOR[here]:
                wrong.append(f"{module} -> {other}")
    assert not wrong, wrong


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, circles


def test_the_feature_registry_imports_nothing_of_the_project() -> None:
    graph = _graph()
    assert graph["tuneahead.features.catalogue"] == set()
    assert graph["tuneahead.features.row"] == {"tuneahead.features.catalogue"}
