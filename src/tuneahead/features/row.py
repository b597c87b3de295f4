"""The feature row: the one place that turns a run's parts into what the predictor reads.

A run's row is its recipe's hyperparameters (`recipe_*`), its static descriptors (the finding counts among
them), its probe's dynamic features, and the features relative to both (what the probe achieved beyond
what guessing gets). The gate scores this row, the run-store export trains on it, the evaluation and the
live callback read it: nothing else assembles one, so what is scored is what was trained on.

This module also owns the feature roles (static / recipe / dynamic, from the catalogue or, for columns it
does not know, from their prefix), which decide the ablations and the groups in reports. It imports only
the catalogue: every floor above may use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from tuneahead.features.catalogue import derived_feature, spec

Role = Literal["static", "dynamic", "recipe"]

DEFAULT_DYNAMIC_PREFIXES: tuple[str, ...] = ("probe_",)
DEFAULT_RECIPE_PREFIXES: tuple[str, ...] = ("recipe_",)
#: Catalogue groups that measure the machine rather than the run (e.g. probe throughput): they change
#: with hardware and load, so a forecast must not depend on them. Never default features.
MACHINE_GROUPS: frozenset[str] = frozenset({"speed"})

# ---------------------------------------------------------------- features relative to the data

OVER_MAJORITY = "probe_eval_accuracy_over_majority"
derived_feature(
    OVER_MAJORITY, kind="dynamic", group="accuracy", unit="share",
    meaning="share of held-out answers the probed model reproduces exactly, minus the share of training "
    "examples with the commonest answer (what always giving that answer would score; 0: no better)",
)


def relative_features(static: Mapping[str, float], dynamic: Mapping[str, float]) -> dict[str, float]:
    """The probe features that are relative to the data, from a run's static and dynamic features.

    A probe's held-out exact match means little alone: on a two-answer task always giving the commonest
    answer scores about 50 %. A feature whose inputs were never measured (a run history without them) is
    left out, not NaN, so a run table does not grow an empty column; inputs measured as NaN give NaN.
    """
    if "probe_eval_sequence_accuracy" not in dynamic or "majority_answer_share" not in static:
        return {}
    accuracy, guess = dynamic["probe_eval_sequence_accuracy"], static["majority_answer_share"]
    ok = accuracy is not None and guess is not None and math.isfinite(accuracy) and math.isfinite(guess)
    return {OVER_MAJORITY: accuracy - guess if ok else math.nan}


# ---------------------------------------------------------------- directions known from first principles

#: Features that measure a defect of the data or the recipe: more of it never makes success likelier.
#: The success models are held to it (LightGBM monotone constraints, sign bounds in the linear model), so
#: a corpus in which, say, leaky runs happened to succeed more often cannot teach the gate to reward a leak.
#: -1: P(success) may only fall as the value rises; +1: only rise. Every other feature is left free.
KNOWN_DIRECTIONS: dict[str, int] = {
    # leakage between eval and train
    "eval_exact_leak_share": -1,
    "eval_near_leak_share": -1,
    "eval_ngram_leak_share": -1,
    "eval_ngram_overlap_mean": -1,
    "eval_prompt_leak_share": -1,
    # duplicates and conflicting labels
    "exact_duplicate_share": -1,
    "near_duplicate_share": -1,
    "duplicate_prompt_share": -1,
    "conflicting_answer_share": -1,
    # truncation by the context window
    "truncated_example_share": -1,
    "answer_cut_share": -1,
    "answer_lost_share": -1,
    "completion_tokens_truncated_share": -1,
    "eval_answer_cut_share": -1,
    # examples with nothing to learn, loss on prompt tokens
    "no_label_example_share": -1,
    "probe_empty_step_share": -1,
    "prompt_loss_share": -1,
    "recipe_loss_on_all_tokens": -1,
    # answer skew: a more even spread of answers never makes success less likely
    "answer_entropy_norm": +1,
    # the checks' own findings, and a probe that diverged
    "findings_errors": -1,
    "findings_warnings": -1,
    "probe_diverged": -1,
    "probe_nonfinite": -1,
}


def known_direction(name: str) -> int:
    """-1, +1 or 0 (free): how P(success) may move as the feature rises (see `KNOWN_DIRECTIONS`)."""
    return KNOWN_DIRECTIONS.get(name, 0)


# ---------------------------------------------------------------- the recipe's own hyperparameters


def recipe_columns(recipe: Mapping[str, Any]) -> dict[str, float]:
    """The recipe's hyperparameters as numbers (`recipe_*`: the hyperparameters-only ablation), from the
    recipe as JSON (`Recipe.model_dump(mode="json")`, what the run store keeps)."""
    adapter = recipe.get("adapter") or {}
    full = adapter.get("type") == "full"
    lr = recipe.get("learning_rate")
    return {
        "recipe_log10_learning_rate": math.log10(lr) if lr else math.nan,
        "recipe_num_epochs": float(recipe.get("num_epochs") or math.nan),
        "recipe_max_steps": float(recipe.get("max_steps") or math.nan),
        "recipe_effective_batch": float(
            (recipe.get("micro_batch_size") or 1) * (recipe.get("gradient_accumulation_steps") or 1)
            * (recipe.get("num_devices") or 1)
        ),
        "recipe_full_finetune": float(full),
        "recipe_lora_rank": 0.0 if full else float(adapter.get("rank") or math.nan),
        "recipe_max_seq_length": float(recipe.get("max_seq_length") or math.nan),
        "recipe_loss_on_all_tokens": float(recipe.get("loss_on") == "all"),
        "recipe_warmup_ratio": float(recipe.get("warmup_ratio") or 0.0),
        "recipe_weight_decay": float(recipe.get("weight_decay") or 0.0),
    }


# ---------------------------------------------------------------- the row


def feature_row(
    *,
    recipe: Mapping[str, Any],
    descriptors: Mapping[str, float],
    probe: Mapping[str, float],
    finding_counts: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """A run's features: recipe hyperparameters, then the finding counts (for histories recorded before
    `describe` made them descriptors), the static descriptors, the probe's features and the relative ones.
    Later parts win where names meet (none do in the catalogue)."""
    return {
        **recipe_columns(recipe),
        **(finding_counts or {}),
        **descriptors,
        **probe,
        **relative_features(descriptors, probe),
    }


# ---------------------------------------------------------------- roles


@dataclass(frozen=True)
class FeatureInfo:
    """What the reports know about a feature column: from the catalogue when registered, else its name."""

    name: str
    role: Role
    group: str
    unit: str
    meaning: str


@lru_cache(maxsize=4096)
def _catalogue_entry(name: str) -> tuple[str, str, str, str] | None:
    try:
        s = spec(name)
    except KeyError:  # a column the catalogue does not know (a team's own metric, say)
        return None
    return s.kind, s.group, s.unit, s.meaning


def feature_info(
    name: str,
    *,
    dynamic_prefixes: Sequence[str] = DEFAULT_DYNAMIC_PREFIXES,
    recipe_prefixes: Sequence[str] = DEFAULT_RECIPE_PREFIXES,
) -> FeatureInfo:
    entry = _catalogue_entry(name)
    if entry is not None:
        kind, group, unit, meaning = entry
        role: Role = "dynamic" if kind == "dynamic" else ("recipe" if group == "recipe" else "static")
        return FeatureInfo(name, role, group, unit, meaning)
    if any(name.startswith(p) for p in dynamic_prefixes):
        role = "dynamic"
    elif any(name.startswith(p) for p in recipe_prefixes):
        role = "recipe"
    else:
        role = "static"
    # Unknown columns are their own group; the meaning falls back to the column name.
    return FeatureInfo(name, role, name, "", name)


def is_machine_dependent(name: str) -> bool:
    entry = _catalogue_entry(name)
    return entry is not None and entry[1] in MACHINE_GROUPS
