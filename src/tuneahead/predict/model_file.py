"""Check a LightGBM text model before LightGBM parses it.

LightGBM's C++ parser trusts its input: a truncated or edited model file can make it read out of
bounds and abort the whole process (SIGABRT), which no `except` can catch. So the structure that the
parser relies on is checked here first, in Python: the header, one block per tree whose byte sizes
match `tree_sizes`, per-tree arrays of the lengths `num_leaves` implies, child and feature indices in
range, and the end markers of the trees and of the parameters. A file that passes is one LightGBM itself wrote (or an equally well-formed
one); anything else is a `ValueError` saying what is wrong.
"""

from __future__ import annotations

import math

_HEADER_KEYS = ("version", "num_class", "num_tree_per_iteration", "max_feature_idx", "feature_names", "feature_infos",
                "tree_sizes")
END_OF_TREES = "end of trees"


def _key_values(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.split()]
    except ValueError:
        raise ValueError(f"{what} holds something other than integers") from None


def _floats(text: str, what: str) -> list[float]:
    try:
        values = [float(x) for x in text.split()]
    except ValueError:
        raise ValueError(f"{what} holds something other than numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what} holds NaN or inf")
    return values


def validate_model_text(text: str, n_features: int) -> None:
    """Raise ValueError unless `text` is a well-formed LightGBM text model over `n_features` features."""
    if not text.startswith("tree\n"):
        raise ValueError("not a LightGBM text model (it must start with 'tree')")
    head, sep, rest = text.partition("\nTree=0\n")
    if not sep:
        raise ValueError("no trees (no 'Tree=0' block)")
    header = _key_values(head.splitlines()[1:])
    missing = [k for k in _HEADER_KEYS if k not in header]
    if missing:
        raise ValueError(f"header lacks {', '.join(missing)}")
    n_model_features = _ints(header["max_feature_idx"], "max_feature_idx")[0] + 1
    if n_model_features != n_features or len(header["feature_names"].split()) != n_features:
        raise ValueError(f"the model is over {n_model_features} features, the predictor's schema lists {n_features}")
    if len(header["feature_infos"].split()) != n_features:
        raise ValueError("feature_infos does not have one entry per feature")
    for key in ("num_class", "num_tree_per_iteration"):
        if _ints(header[key], key) != [1]:
            raise ValueError(f"{key} must be 1 for the models TuneAhead writes")
    sizes = _ints(header["tree_sizes"], "tree_sizes")
    body = ("Tree=0\n" + rest).encode("utf-8")
    # LightGBM cuts the body into trees by these byte sizes: they must tile it exactly up to the end marker.
    offset = 0
    for i, size in enumerate(sizes):
        if size <= 0 or offset + size > len(body):
            raise ValueError(f"tree_sizes does not match the trees in the file (tree {i})")
        block = body[offset : offset + size].decode("utf-8", errors="strict")
        if not block.startswith(f"Tree={i}\n"):
            raise ValueError(f"tree {i} is not where tree_sizes puts it")
        _validate_tree(_key_values(block.splitlines()[1:]), i, n_features)
        offset += size
    tail = body[offset:].decode("utf-8", errors="replace")
    if not tail.lstrip().startswith(END_OF_TREES):
        raise ValueError(f"the trees are not followed by '{END_OF_TREES}' (a truncated or edited file)")
    # LightGBM reads a parameters section up to its end marker, past the end of the text when it is
    # missing (measured: a segmentation fault).
    _, params, after = tail.partition("\nparameters:\n")
    if params and "\nend of parameters" not in after:
        raise ValueError("the parameters section has no 'end of parameters' (a truncated or edited file)")


# Per-tree arrays and how many entries LightGBM expects in each (it aborts on a mismatch).
_PER_NODE = ("split_feature", "split_gain", "threshold", "decision_type", "left_child", "right_child",
             "internal_value", "internal_weight", "internal_count")
_PER_LEAF = ("leaf_value", "leaf_weight", "leaf_count")
_INTEGER_ARRAYS = ("split_feature", "decision_type", "left_child", "right_child", "internal_count", "leaf_count",
                   "cat_boundaries", "cat_threshold")


def _array(tree: dict[str, str], name: str, where: str) -> list[float] | list[int]:
    text = tree.get(name, "")
    return _ints(text, f"{where} {name}") if name in _INTEGER_ARRAYS else _floats(text, f"{where} {name}")


def _validate_tree(tree: dict[str, str], index: int, n_features: int) -> None:
    where = f"tree {index}"
    try:
        leaves = int(tree["num_leaves"])
        num_cat = int(tree.get("num_cat", "0"))
    except (KeyError, ValueError):
        raise ValueError(f"{where} has no valid num_leaves / num_cat") from None
    if leaves < 1 or num_cat < 0:
        raise ValueError(f"{where} has {leaves} leaves and {num_cat} categorical splits")
    nodes = leaves - 1
    expected = {name: leaves for name in _PER_LEAF} | ({name: nodes for name in _PER_NODE} if nodes else {})
    arrays = {}
    for name, count in expected.items():
        if name not in tree and name not in ("leaf_weight", "leaf_count"):  # optional in older files
            raise ValueError(f"{where} lacks {name}")
        if name in tree:
            arrays[name] = _array(tree, name, where)
            if len(arrays[name]) != count:
                raise ValueError(f"{where}: {name} has {len(arrays[name])} entries, num_leaves implies {count}")
    if num_cat:
        bounds = _array(tree, "cat_boundaries", where)
        cats = _array(tree, "cat_threshold", where)
        if len(bounds) != num_cat + 1 or bounds != sorted(bounds) or bounds[0] != 0 or bounds[-1] != len(cats):
            raise ValueError(f"{where}: cat_boundaries do not match cat_threshold")
    if not nodes:
        return
    if any(not 0 <= f < n_features for f in arrays["split_feature"]):
        raise ValueError(f"{where} splits on a feature the model does not have")
    # A child is an inner node (1 .. nodes-1) or a leaf written as ~leaf (-1 .. -leaves).
    children = [*arrays["left_child"], *arrays["right_child"]]
    if any(not -leaves <= c < nodes or c == 0 for c in children):
        raise ValueError(f"{where} points at a node or leaf that does not exist")
    if num_cat and any(int(t) >= num_cat for t, d in zip(arrays["threshold"], arrays["decision_type"]) if int(d) & 1):
        raise ValueError(f"{where}: a categorical split names a category set it does not have")
