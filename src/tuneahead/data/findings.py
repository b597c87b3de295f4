"""Pitfall findings: what is wrong with a dataset + recipe, the evidence, and what to change.

Each rule reads the gathered statistics and the computed descriptors and returns a `Finding`
(or None). Thresholds are module constants so they are visible, documented and testable; they
follow common practice for instruction tuning of LLMs (see each rule's comment).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from tuneahead.data.stats import MAX_IDS, DatasetStats
from tuneahead.features.catalogue import derived_feature
from tuneahead.formatting import format_value

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    code: str  # stable identifier, e.g. "truncation"
    severity: Severity
    title: str
    evidence: str  # the numbers, in words
    fix: str  # a concrete change
    numbers: dict[str, float] = field(default_factory=dict)
    example_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


Rule = Callable[[DatasetStats, Mapping[str, float]], "Finding | None"]
_RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    _RULES.append(fn)
    return fn


def find_pitfalls(stats: DatasetStats, descriptors: Mapping[str, float]) -> list[Finding]:
    """All findings, most severe first."""
    found = [f for r in _RULES if (f := r(stats, descriptors)) is not None]
    return sorted(found, key=lambda f: SEVERITY_ORDER[f.severity])


# Pooled counts of the findings, as features: each pitfall kind is rare in a run history (a few dozen
# runs each), too rare for the predictor to learn every kind's signature from its descriptors, but
# "how many errors did the data checks raise" pools them all. `describe` adds these to the descriptors.
FINDING_COUNT_FEATURES: dict[str, Severity] = {"findings_errors": "error", "findings_warnings": "warning"}
for _name, _severity in FINDING_COUNT_FEATURES.items():
    derived_feature(
        _name, kind="static", group="findings", unit="count",
        meaning=f"pitfall findings of severity {_severity} raised by the data and recipe checks",
    )


def finding_count_features(severities: Iterable[str]) -> dict[str, float]:
    """`FINDING_COUNT_FEATURES` from the severities of a run's data and recipe findings."""
    listed = list(severities)
    return {name: float(listed.count(severity)) for name, severity in FINDING_COUNT_FEATURES.items()}


def _ok(value: float) -> bool:
    return value is not None and not math.isnan(value)


def _share(x: float) -> str:
    return format_value(x, "share")


def _ids(stats: DatasetStats, mask: np.ndarray) -> list[str]:
    return [stats.train.id_of(int(i)) for i in np.flatnonzero(mask)[:MAX_IDS]]


# ---------------------------------------------------------------- truncation

TRUNCATION_WARN = 0.01  # > 1 % of answers cut: the model learns to stop mid-answer
TRUNCATION_ERROR = 0.10


def suggested_max_length(stats: DatasetStats) -> int:
    """Smallest multiple of 64 that holds 99 % of sequences whole."""
    p99 = float(np.percentile(stats.train.lengths["total"], 99))
    return int(math.ceil(p99 / 64) * 64)


@rule
def truncation(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    cut = d["answer_cut_share"]
    if not _ok(cut) or cut <= TRUNCATION_WARN:
        return None
    L = stats.train.lengths
    lost = d["answer_lost_share"]
    suggestion = suggested_max_length(stats)
    return Finding(
        code="truncation",
        severity="error" if cut > TRUNCATION_ERROR else "warning",
        title="Answers are cut off by the context window",
        evidence=(
            f"{_share(cut)} of examples lose answer tokens at max_seq_length={stats.max_seq_length} "
            f"({_share(lost)} lose the whole answer; {_share(d['completion_tokens_truncated_share'])} of answer tokens "
            f"are dropped). 95th percentile sequence length: {d['sequence_tokens_p95']:.0f} tokens."
        ),
        fix=(
            f"raise max_seq_length to {suggestion} (holds 99 % of sequences), or shorten/filter the "
            "longest examples; never train on answers that stop mid-way"
        ),
        numbers={"answer_cut_share": cut, "answer_lost_share": lost, "suggested_max_seq_length": suggestion},
        example_ids=_ids(stats, L["completion_kept"] < L["completion"]),
    )


# ---------------------------------------------------------------- leakage

LEAK_EXACT_WARN = 0.01
LEAK_ERROR = 0.05


@rule
def eval_leakage(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    if stats.eval is None:
        return None
    exact, near, ngram = d["eval_exact_leak_share"], d["eval_near_leak_share"], d["eval_ngram_leak_share"]
    worst = max(exact, near, ngram)
    if worst <= LEAK_EXACT_WARN:
        return None
    leaked = sorted(set(stats.eval_near_leaks) | set(stats.eval_ngram_leaks))
    return Finding(
        code="eval_leakage",
        severity="error" if worst > LEAK_ERROR else "warning",
        title="Eval examples leak into the training data",
        evidence=(
            f"{_share(exact)} of eval examples appear verbatim in train, {_share(near)} have a near duplicate, "
            f"{_share(ngram)} share >= 90 % of their 8-word n-grams with train: eval scores will be inflated "
            "and will not predict the hidden test."
        ),
        fix=f"remove the {len(leaked)} leaked eval examples (or their train copies) and re-split by source",
        numbers={"eval_exact_leak_share": exact, "eval_near_leak_share": near, "eval_ngram_leak_share": ngram},
        example_ids=stats.leaked_eval_ids(leaked),
    )


# ---------------------------------------------------------------- duplicates and conflicting labels

DUP_WARN = 0.05
DUP_ERROR = 0.30
CONFLICT_WARN = 0.01
CONFLICT_ERROR = 0.10


@rule
def duplicates(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    exact, near = d["exact_duplicate_share"], d["near_duplicate_share"]
    total = exact + near
    if not _ok(total) or total <= DUP_WARN:
        return None
    return Finding(
        code="duplicates",
        severity="error" if total > DUP_ERROR else "warning",
        title="Many duplicate training examples",
        evidence=(
            f"{_share(exact)} exact and {_share(near)} near duplicates: the effective dataset is smaller than it "
            "looks and duplicated rows are memorised (over-fitting, wasted compute)."
        ),
        fix="deduplicate (exact, then MinHash near-duplicates) before training; keep one copy of each",
        numbers={"exact_duplicate_share": exact, "near_duplicate_share": near},
        example_ids=(stats.exact_dup_ids + stats.near_dup_ids)[:MAX_IDS],
    )


@rule
def conflicting_labels(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    share = d["conflicting_answer_share"]
    if not _ok(share) or share <= CONFLICT_WARN:
        return None
    return Finding(
        code="conflicting_labels",
        severity="error" if share > CONFLICT_ERROR else "warning",
        title="The same prompt has different answers",
        evidence=f"{_share(share)} of examples share their prompt with an example that has another answer (label noise).",
        fix="resolve the conflicts (majority vote or manual review) or drop the conflicting prompts",
        numbers={"conflicting_answer_share": share},
        example_ids=stats.conflict_ids,
    )


# ---------------------------------------------------------------- answer skew

SKEW_CATEGORICAL = 0.2  # fewer distinct answers than 20 % of examples: a classification-like task
# How far the majority answer sits from a uniform label mix, as a share of the way to "every example":
# with k answers, uniform is 1/k; a balanced binary set (50-55 %) is not skewed, 70 % is, 85 % badly.
SKEW_WARN = 0.4
SKEW_ERROR = 0.7
SKEW_WARN_FLOOR = 0.5  # never warn below a 50 % majority, however many answers there are


def skew_bounds(distinct_answers: float) -> tuple[float, float]:
    """(warning, error) majority shares for a label set of `distinct_answers` answers."""
    uniform = 1.0 / max(distinct_answers, 1.0)
    warn = max(SKEW_WARN_FLOOR, uniform + SKEW_WARN * (1.0 - uniform))
    error = max(warn, uniform + SKEW_ERROR * (1.0 - uniform))
    return warn, error


@rule
def answer_skew(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    major, distinct = d["majority_answer_share"], d["distinct_answer_share"]
    if not _ok(major) or stats.train.n < 20 or distinct > SKEW_CATEGORICAL:
        return None
    warn, error = skew_bounds(d["distinct_answers"])
    if major <= warn:
        return None
    top_hash, top_count = stats.answer_counts.most_common(1)[0]
    answer = stats.answer_texts.get(top_hash, "")
    return Finding(
        code="answer_skew",
        severity="error" if major > error else "warning",
        title="One answer dominates the labels",
        evidence=(
            f"{_share(major)} of examples answer {answer!r} ({top_count} of {stats.train.n}; "
            f"{int(d['distinct_answers'])} distinct answers, normalised entropy {d['answer_entropy_norm']:.2f}): "
            "a model that always gives this answer scores well on this data and learns nothing."
        ),
        fix="rebalance: down-sample the majority answer or up-sample the others, and stratify the eval split",
        numbers={"majority_answer_share": major, "distinct_answers": d["distinct_answers"]},
    )


# ---------------------------------------------------------------- loss masking

PROMPT_LOSS_WARN = 0.5


@rule
def no_label_tokens(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    share = d["no_label_example_share"]
    if not _ok(share) or share == 0:
        return None
    L = stats.train.lengths
    return Finding(
        code="no_label_tokens",
        severity="error" if share > 0.01 else "warning",
        title="Examples with no token to learn from",
        evidence=(
            f"{_share(share)} of examples have no loss-bearing token after masking and truncation: they cost "
            "compute, teach nothing, and a batch made only of them gives a NaN loss in many trainers."
        ),
        fix="raise max_seq_length or drop these examples; check that the answers are not empty",
        numbers={"no_label_example_share": share},
        example_ids=_ids(stats, L["loss_kept"] == 0),
    )


@rule
def loss_on_prompt(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    share = d["prompt_loss_share"]
    if not _ok(share) or share <= PROMPT_LOSS_WARN:
        return None
    trl_default = stats.loss_on == "completion_for_prompt_completion"
    return Finding(
        code="loss_on_prompt",
        severity="warning",
        title="Most of the loss is spent on prompt tokens",
        evidence=(
            f"{_share(share)} of loss-bearing tokens are prompt/template tokens, not answers"
            + (" (TRL computes loss on every token of conversational datasets unless assistant_only_loss=true)"
               if trl_default else "")
            + ": the gradient mostly teaches the model to reproduce prompts."
        ),
        fix=(
            "compute loss on completions only (Axolotl train_on_inputs: false, LLaMA-Factory train_on_prompt: "
            "false, TRL assistant_only_loss: true / completion_only_loss: true)"
        ),
        numbers={"prompt_loss_share": share},
    )


# ---------------------------------------------------------------- EOS / padding / template

EOS_WARN = 0.9


@rule
def missing_eos(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    share = d["eos_target_share"]
    if not _ok(share) or share >= EOS_WARN:
        return None
    eos = stats.tokenizer_info.get("eos_token")
    return Finding(
        code="missing_eos",
        severity="warning",
        title="The model is not taught to stop",
        evidence=(
            f"only {_share(share)} of examples have the EOS token {eos!r} among their trained tokens: the fine-tuned "
            "model will tend to ramble past its answer."
        ),
        fix="make sure the chat template closes assistant turns with EOS and that truncation does not drop it",
        numbers={"eos_target_share": share},
        example_ids=_ids(stats, ~stats.train.lengths["eos_target"]),
    )


@rule
def pad_is_eos(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    if not stats.pad_equals_eos:
        return None
    return Finding(
        code="pad_equals_eos",
        severity="info",
        title="Padding token is the EOS token",
        evidence=(
            f"pad_token == eos_token ({stats.tokenizer_info.get('eos_token')!r}): collators that mask labels by "
            "token id (labels[input_ids == pad_id] = -100) also mask every EOS, so the model never learns to stop."
        ),
        fix="set a distinct pad token (e.g. an unused special token), or mask padding by attention mask only",
    )


@rule
def chat_template_missing(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    if stats.template_present or not (d["chat_example_share"] > 0):
        return None
    return Finding(
        code="chat_template_missing",
        severity="warning",
        title="No chat template: ChatML is assumed",
        evidence="neither the recipe nor the tokenizer defines a chat template; chat data is rendered as ChatML.",
        fix="set the chat template the model was trained with (recipe chat_template), and use it at inference too",
    )


@rule
def template_drops_turns(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    side = stats.train
    if not side.dropped_turns:
        return None
    return Finding(
        code="template_drops_turns",
        severity="info",
        title="The chat template leaves out some assistant turns",
        evidence=(
            f"in {side.dropped_turn_examples:,} of {side.n:,} examples the template renders only some assistant "
            f"turns ({side.dropped_turns:,} left out in all; reasoning templates drop earlier answers). The "
            "fine-tune trains on the turns the template keeps, and so do these figures."
        ),
        fix="nothing, if this is the template the model uses; else set the recipe's chat_template",
    )


@rule
def assistant_mask_without_tags(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    recipe = stats.recipe
    if recipe is None or recipe.source.framework != "trl" or stats.template_has_generation_tags:
        return None
    if recipe.loss_on != "completion" or not (d["chat_example_share"] > 0):
        return None
    return Finding(
        code="assistant_mask_needs_generation_tags",
        severity="error",
        title="assistant_only_loss needs {% generation %} tags in the chat template",
        evidence="TRL's assistant_only_loss=true relies on the template's generation tags, which this template lacks.",
        fix="use a chat template with {% generation %} ... {% endgeneration %} around assistant content",
    )


# ---------------------------------------------------------------- training length vs data

EPOCHS_WARN = 8.0
EPOCHS_ERROR = 30.0
MIN_EXAMPLES = 100


@rule
def overfitting_risk(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    ep = d["epochs"]
    if not _ok(ep) or ep <= EPOCHS_WARN:
        return None
    return Finding(
        code="overfitting_risk",
        severity="error" if ep > EPOCHS_ERROR else "warning",
        title="Too little data for the number of steps",
        evidence=(
            f"the run makes {d['optimizer_steps']:.0f} optimizer steps of {d['effective_batch_size']:.0f} sequences "
            f"over {stats.train.n} examples = {ep:.1f} epochs: it will memorise the training set."
        ),
        fix=f"train for 1-3 epochs (max_steps ≈ {math.ceil(3 * stats.train.n / max(1, d['effective_batch_size']))}) "
        "or collect more data",
        numbers={"epochs": ep, "optimizer_steps": d["optimizer_steps"]},
    )


@rule
def small_dataset(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    if stats.train.n >= MIN_EXAMPLES:
        return None
    return Finding(
        code="small_dataset",
        severity="warning",
        title="Very small training set",
        evidence=f"{stats.train.n} examples: results will be noisy and the eval estimate unreliable.",
        fix=f"collect at least {MIN_EXAMPLES}-1,000 examples, or use few-shot prompting instead of fine-tuning",
        numbers={"n_examples": stats.train.n},
    )


# ---------------------------------------------------------------- learning rate

# Usual peak learning rates for instruction tuning of LLMs with AdamW (bounds of common practice).
LR_RANGE: dict[str, tuple[float, float]] = {"full": (1e-6, 1e-4), "lora": (1e-5, 1e-3), "qlora": (1e-5, 1e-3)}
# Models this small (when the model is known) train stably at ~10x higher rates, as in small-scale pretraining.
SMALL_MODEL_PARAMS = 50_000_000
SMALL_MODEL_LR_RANGE: dict[str, tuple[float, float]] = {
    "full": (1e-5, 3e-3), "lora": (1e-4, 1e-2), "qlora": (1e-4, 1e-2),
}
LR_FACTOR_ERROR = 10.0  # 10x beyond the usual bound: divergence (high) or no learning (low) is likely


@rule
def learning_rate_range(stats: DatasetStats, d: Mapping[str, float]) -> Finding | None:
    recipe = stats.recipe
    if recipe is None:
        return None
    kind = recipe.adapter.type
    small = False
    if stats.model_config:
        from tuneahead.models.params import count_params

        small = count_params(stats.model_config, recipe.adapter).total < SMALL_MODEL_PARAMS
    lo, hi = (SMALL_MODEL_LR_RANGE if small else LR_RANGE)[kind]
    lr = recipe.learning_rate
    if lo <= lr <= hi:
        return None
    high = lr > hi
    far = lr > hi * LR_FACTOR_ERROR if high else lr < lo / LR_FACTOR_ERROR
    return Finding(
        code="learning_rate",
        severity="error" if far else "warning",
        title=f"Learning rate far {'above' if high else 'below'} the usual range for {kind} fine-tuning",
        evidence=(
            f"learning_rate={lr:g}; {kind} fine-tunes{' of models this small' if small else ''} usually use "
            f"{lo:g}-{hi:g}: "
            + ("expect loss spikes or divergence." if high else "expect the model to barely move.")
        ),
        fix=f"use a learning rate within {lo:g}-{hi:g} (e.g. {math.sqrt(lo * hi):.0e}) and a short warm-up",
        numbers={"learning_rate": lr, "usual_low": lo, "usual_high": hi},
    )
