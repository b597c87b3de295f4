"""The scenario generator's parameters (generator version 6): which models, problems and recipe values it
draws, and how often. Sampling (`scenarios`) reads them; a new generator version changes them here and bumps
`GENERATOR_VERSION`, which campaign specs pin so that one corpus never mixes generators."""

from __future__ import annotations

GENERATOR_VERSION = 6

# The task families each generator draws from (when a spec names none) and mixes into training data.
# v6 is v5 plus four new task shapes and nothing else, so this code still draws a v5 spec's scenarios
# exactly as v5 did: older campaigns resume, and their runs stay comparable.
V5_FAMILIES: tuple[str, ...] = (
    "arithmetic", "reverse", "sort_words", "kv_lookup", "sentiment", "topic", "compare", "parity",
    "date_format", "case_convert", "counting", "caesar", "compose", "kth_word", "next_in_sequence",
    "unit_convert",
)
GENERATOR_FAMILIES: dict[int, tuple[str, ...]] = {
    5: V5_FAMILIES,
    6: V5_FAMILIES + ("modular_sum", "lexicon", "spell_words", "count_up"),
}

# The built-in zoo, smallest first: a model's proxy is the one before it.
MODEL_ORDER: tuple[str, ...] = ("tiny-0.2m", "tiny-1m", "tiny-4m")

DATA_PROBLEMS: tuple[str, ...] = (
    "small_data",
    "label_noise",
    "class_skew",
    "duplicates",
    "eval_leak",
    "long_context",
    "mixture",
)
RECIPE_PROBLEMS: tuple[str, ...] = (
    "lr_too_low",
    "lr_too_high",
    "undertrained",
    "overtrained",
    "short_max_len",
    "prompt_loss",
    "template_mismatch",
)
PROBLEMS: tuple[str, ...] = DATA_PROBLEMS + RECIPE_PROBLEMS

# Relative draw weights; recipe and data problems weigh about the same, so with the count
# distribution below ~80 % of scenarios keep a sensible recipe and 62 % carry no planted problem
# (v3: 50 %, v2: 45 %; runs with a planted problem mostly fail, so this sets much of the success share).
PROBLEM_WEIGHTS: dict[str, float] = {
    "small_data": 1.0,
    "label_noise": 1.0,
    "class_skew": 2.5,
    "duplicates": 0.8,
    "eval_leak": 0.8,
    "long_context": 1.0,
    "mixture": 1.0,
    "lr_too_low": 1.0,
    "lr_too_high": 1.0,
    "undertrained": 1.0,
    "overtrained": 0.8,
    "short_max_len": 0.8,
    "prompt_loss": 0.8,
    "template_mismatch": 1.0,
}
MIN_FAMILY_WEIGHT = 0.25  # a family no model in the draw can learn is drawn a quarter as often (see _family_weight)
PROBLEM_COUNT_WEIGHTS: dict[int, float] = {0: 0.62, 1: 0.30, 2: 0.08}  # v3: 0.50, 0.38, 0.12
# Pairs that cannot be planted together (they set the same knob, or one would hide the other).
EXCLUSIVE: tuple[frozenset[str], ...] = (
    frozenset({"lr_too_low", "lr_too_high"}),
    frozenset({"undertrained", "overtrained"}),
    frozenset({"small_data", "overtrained"}),
    frozenset({"short_max_len", "long_context"}),
    frozenset({"small_data", "eval_leak"}),
    frozenset({"overtrained", "eval_leak"}),
)

# Cost model: seconds per optimizer step of 16 sequences x 64 tokens, full fine-tune, 2 CPU threads
# (measured on the tiny zoo); time scales with the tokens a step processes.
SECONDS_PER_REFERENCE_STEP: dict[str, float] = {"tiny-0.2m": 0.05, "tiny-1m": 0.14, "tiny-4m": 0.42}
REFERENCE_STEP_TOKENS = 16 * 64
# Default budget: 600 steps of 16 x 64 tokens (~85 s on tiny-1m, ~30 s on tiny-0.2m, ~250 s on tiny-4m).
DEFAULT_BUDGET_TOKENS = 600 * REFERENCE_STEP_TOKENS

MAX_SEQ_CHOICES: tuple[int, ...] = (64, 96, 128, 192, 256, 384, 512)
SHORT_SEQ_CHOICES: tuple[int, ...] = (
    16,
    20,
    24,
    28,
    32,
    40,
    48,
    56,
    64,
    80,
    96,
)  # what a too-short setting looks like
MODEL_CONTEXT = 512
NICE_EPOCHS: tuple[float, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)
SYSTEM_PROMPTS: tuple[str | None, ...] = (
    None,
    None,
    "Answer with the result only.",
    "You are a helpful assistant.",
)
TEMPLATES: tuple[str, ...] = ("chatml", "plain")  # named templates in tuneahead.data.render
TOKENIZER_TEMPLATE = "chatml"  # what the tiny models' own tokenizer uses
