"""YAML read safely: plain data only, and bounded work however the file uses aliases.

`yaml.SafeLoader` already refuses tags that build objects, but an alias (`*a`) repeats a whole subtree
without repeating its text, so nine levels of nine aliases ("billion laughs") describe 9^9 nodes in a
few hundred bytes. PyYAML itself shares the repeated objects, yet any code that walks the result (key
checks, JSON dumps, validation) expands them. So the composed node graph is measured first, in one pass
over its distinct nodes, and a document that would expand past `MAX_EXPANDED_NODES` is refused.
"""

from __future__ import annotations

from typing import Any

import yaml

# Far above any real training config (an Axolotl config with every key set has a few hundred nodes).
MAX_EXPANDED_NODES = 100_000


class AliasBombError(ValueError):
    """A YAML document whose aliases expand to more than `MAX_EXPANDED_NODES` nodes."""


def expanded_size(node: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """Number of nodes the document has once every alias is expanded; stops counting past `limit`.

    Each distinct node is sized once (memoised by identity), so the cost is linear in the file's size
    whatever the expansion. A recursive alias (`&a [*a]`) counts as one node where it recurs."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            return 1
        in_progress.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item)
                if total > limit:
                    break
        in_progress.discard(key)
        sizes[key] = min(total, limit + 1)
        return sizes[key]

    return size(node)


def compose_bounded(loader: yaml.SafeLoader) -> yaml.Node | None:
    """The loader's single document as a node graph, refused when its aliases expand too far."""
    node = loader.get_single_node()
    if node is not None and expanded_size(node) > MAX_EXPANDED_NODES:
        raise AliasBombError(
            f"the YAML's aliases expand to more than {MAX_EXPANDED_NODES:,} values; a training config "
            "never needs that many (a file built to exhaust memory, like a 'billion laughs')"
        )
    return node


def safe_load(text: str) -> Any:
    """`yaml.safe_load` with bounded alias expansion (raises `AliasBombError` or `yaml.YAMLError`)."""
    loader = yaml.SafeLoader(text)  # may raise yaml.ReaderError (control characters)
    try:
        node = compose_bounded(loader)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
