"""TuneBench scenarios: a task, a dataset with known problems, and a recipe, sampled from a seed.

    scenario = sample_scenario(7)        # or sample_scenario(random.Random(7), model_sizes=("tiny-1m",))
    files = materialise(scenario, "runs/7")
    # -> train.jsonl, eval.jsonl, recipe.yaml, .hidden/{test.jsonl, ground_truth.json, scenario.json}
    estimated_cost(scenario).seconds     # full-run CPU time estimate (2 threads)

Most scenarios are recipes a practitioner would try; about 40 % carry one or two planted problems
(see PROBLEMS and `docs/tunebench.md`) so that real failures of every kind happen through real
training. The generator's knobs are the scenario's `ground_truth`: it is written apart from the
data and the recipe, and no feature may read it.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from tuneahead.bench.scenario_data import DataPlan, Splits, build_splits, stream
from tuneahead.bench.targets import (
    LEARNABLE_HEADROOM,
    TargetDraw,
    draw_target,
    headroom_share,
    learnable_level,
    scanned_ceiling,
)
from tuneahead.bench.tasks import FAMILIES, difficulty_at, difficulty_score, get_family, is_labelled
from tuneahead.recipe.model import Recipe

GENERATOR_VERSION = 5

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


@dataclass(frozen=True)
class Scenario:
    """One TuneBench run to be: what to train, on what, how, and the bar it must clear.

    `recipe` and the data files are what a user would have; `eval_chat_template` is the template the
    runner renders eval and test prompts with when generating answers (the "serving" template);
    `ground_truth` holds every generator knob and is for analysis only.
    """

    run_id: str
    seed: int
    family: str
    difficulty: dict[str, Any]
    model: str
    proxy_model: str | None
    recipe: Recipe
    target: float
    eval_chat_template: str
    data: DataPlan
    problems: tuple[str, ...]
    ground_truth: dict[str, Any] = field(compare=False)

    @property
    def sensible(self) -> bool:
        """True when no recipe problem is planted: a recipe a practitioner would try."""
        return not any(p in RECIPE_PROBLEMS for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "seed": self.seed,
            "family": self.family,
            "difficulty": self.difficulty,
            "model": self.model,
            "proxy_model": self.proxy_model,
            "recipe": self.recipe.model_dump(mode="json"),
            "target": self.target,
            "eval_chat_template": self.eval_chat_template,
            "data": _plan_to_dict(self.data),
            "problems": list(self.problems),
            "ground_truth": self.ground_truth,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        plan = data["data"]
        return cls(
            run_id=data["run_id"],
            seed=int(data["seed"]),
            family=data["family"],
            difficulty=dict(data["difficulty"]),
            model=data["model"],
            proxy_model=data["proxy_model"],
            recipe=Recipe.model_validate(data["recipe"]),
            target=float(data["target"]),
            eval_chat_template=data["eval_chat_template"],
            data=DataPlan(
                **{
                    **plan,
                    "context_words": tuple(plan["context_words"]),
                    "mixture_families": tuple(plan["mixture_families"]),
                    "mixture_difficulties": tuple(dict(d) for d in plan["mixture_difficulties"]),
                }
            ),
            problems=tuple(data["problems"]),
            ground_truth=dict(data["ground_truth"]),
        )


@dataclass(frozen=True)
class ScenarioFiles:
    folder: Path
    train: Path
    eval: Path
    recipe: Path
    test: Path  # hidden: never given to describe / probe / features
    ground_truth: Path  # hidden: generator knobs, for analysis only
    scenario: Path  # hidden: the full Scenario as JSON (for the runner to reload)


@dataclass(frozen=True)
class RunCost:
    """Estimated cost of the full run (training only; eval generation is extra)."""

    steps: int
    effective_batch: int
    seq_tokens: int  # padded tokens per sequence the estimate assumes
    train_tokens: int  # steps x effective batch x seq_tokens
    seconds: float  # on 2 CPU threads


# ---------------------------------------------------------------- sampling


def sample_scenario(
    rng_or_seed: random.Random | int,
    *,
    model_sizes: tuple[str, ...] | list[str] = MODEL_ORDER,
    families: tuple[str, ...] | list[str] | None = None,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    n_eval: int = 200,
    n_test: int = 500,
) -> Scenario:
    """Sample one scenario. An int seed gives the same scenario every time; a `Random` is advanced once.

    `model_sizes` and `families` restrict the draw (e.g. to hold a family out of a corpus);
    `budget_tokens` bounds steps x effective batch x sequence tokens of the full run.
    """
    seed = rng_or_seed.getrandbits(48) if isinstance(rng_or_seed, random.Random) else int(rng_or_seed)
    if seed < 0:
        raise ValueError(f"scenario seeds are non-negative integers, got {seed}")
    models = _check_models(model_sizes)
    names = _check_families(families)
    rng = stream(seed, "scenario")

    family = get_family(rng.choices(names, [_family_weight(f, models) for f in names])[0])
    model = _pick_model(rng, family.name, models)
    # Mostly difficulties this model can learn (v2 drew them over the whole range, and two thirds of its
    # runs scored ~0 whatever the recipe): see `learnable_level`.
    level = rng.uniform(0.0, learnable_level(family.name, model))
    difficulty = difficulty_at(family, level, rng)
    problems = _draw_problems(rng, labelled=is_labelled(family))

    plan = _data_plan(rng, family, difficulty, problems, n_eval, n_test)
    train_template, eval_template = _templates(rng, problems)
    lengths = _length_profile(seed, family, difficulty, plan, train_template)
    plan = replace(plan, token_p95=lengths.quantile(0.95))
    recipe, regimes = _recipe(rng, seed, model, plan, lengths, problems, train_template, budget_tokens)
    if "long_context" in problems:
        # Every word is at least one token, so a context of max_len + 16 words pushes the answer out.
        low = recipe.max_seq_length + 16
        plan = replace(plan, context_words=(low, low + 24))
    draw = draw_target(rng, family, difficulty, model, lora=recipe.adapter.type == "lora")

    run_id = f"tb-{seed:012x}"
    proxy = _proxy(model)
    scenario = Scenario(
        run_id=run_id,
        seed=seed,
        family=family.name,
        difficulty=difficulty,
        model=model,
        proxy_model=proxy,
        recipe=recipe,
        target=draw.target,
        eval_chat_template=eval_template,
        data=plan,
        problems=problems,
        ground_truth={},
    )
    truth = _ground_truth(scenario, level, lengths, regimes, train_template, draw)
    return replace(scenario, ground_truth=truth)


def _check_models(model_sizes) -> list[str]:
    models = list(model_sizes)
    unknown = [m for m in models if m not in MODEL_ORDER]
    if not models or unknown:
        raise ValueError(f"model_sizes must be built-in tiny models {list(MODEL_ORDER)}; got {models}")
    return models


def _check_families(families) -> list[str]:
    names = list(FAMILIES) if families is None else list(families)
    unknown = [f for f in names if f not in FAMILIES]
    if not names or unknown:
        raise ValueError(f"unknown task families {unknown or names}; known: {', '.join(FAMILIES)}")
    return names


def _family_weight(family: str, models: list[str]) -> float:
    """Draw weight of a task family: 1 when some model in the draw learns its easiest setting to at least
    the learnable share of the headroom, less (down to 0.25) when none does.

    Teams fine-tune for tasks a model can learn; v4 drew families uniformly, and its two families no tiny
    model learns (arithmetic, next_in_sequence) were 12 % of its runs, all failures. They still occur.
    """
    best = max(headroom_share(family, m, 0.0) for m in models)
    return max(MIN_FAMILY_WEIGHT, min(1.0, best / LEARNABLE_HEADROOM))


def _pick_model(rng: random.Random, family: str, models: list[str]) -> str:
    """A model size, weighted by how well it learns the family's easiest setting (at least 0.1).

    Teams pick a model that can do the task at all; v2 drew sizes uniformly and most of its runs
    pairing tiny-0.2m with a generative family scored ~0 whatever the recipe. Hopeless pairings still
    happen, just less often.
    """
    weights = [max(0.1, scanned_ceiling(family, m, 0.0)) for m in models]
    return rng.choices(models, weights)[0]


def _proxy(model: str) -> str | None:
    i = MODEL_ORDER.index(model)
    return MODEL_ORDER[i - 1] if i > 0 else None


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _draw_problems(rng: random.Random, *, labelled: bool) -> tuple[str, ...]:
    count = rng.choices(list(PROBLEM_COUNT_WEIGHTS), list(PROBLEM_COUNT_WEIGHTS.values()))[0]
    chosen: list[str] = []
    while len(chosen) < count:
        allowed = [
            p
            for p in PROBLEMS
            if p not in chosen
            and (labelled or p != "class_skew")
            and not any(frozenset({p, q}) in EXCLUSIVE for q in chosen)
        ]
        chosen.append(rng.choices(allowed, [PROBLEM_WEIGHTS[p] for p in allowed])[0])
    return tuple(sorted(chosen, key=PROBLEMS.index))


def _data_plan(rng, family, difficulty, problems, n_eval: int, n_test: int) -> DataPlan:
    has = problems.__contains__
    if has("small_data"):
        n_train = round(_log_uniform(rng, 16, 64))
    elif has("overtrained"):
        n_train = round(_log_uniform(rng, 32, 128))
    else:
        n_train = round(_log_uniform(rng, 96, 4000))
    # Real data is rarely spotless: sensible scenarios carry a little of each problem now and then.
    noise = (
        rng.uniform(0.1, 0.45)  # v3: 0.25-0.6, which failed every run; milder noise hurts only sometimes
        if has("label_noise")
        else (rng.uniform(0.01, 0.05) if rng.random() < 0.25 else 0.0)
    )
    dups = (
        rng.uniform(0.3, 0.8)  # v3: 0.4-0.85
        if has("duplicates")
        else (rng.uniform(0.01, 0.1) if rng.random() < 0.25 else 0.0)
    )
    leak = (
        rng.uniform(0.3, 1.0)
        if has("eval_leak")
        else (rng.uniform(0.01, 0.05) if rng.random() < 0.15 else 0.0)
    )
    majority_label = majority_share = None
    if is_labelled(family):
        labels = family.labels(difficulty)
        if has("class_skew"):
            majority_label, majority_share = rng.choice(labels), rng.uniform(0.7, 0.95)  # v3: 0.8-0.97
        elif rng.random() < 0.3:
            balanced = 1.0 / len(labels)
            majority_label, majority_share = (
                rng.choice(labels),
                rng.uniform(balanced + 0.05, max(balanced + 0.1, 0.65)),
            )
    long_share = rng.uniform(0.3, 0.9) if has("long_context") else 0.0
    if has("mixture"):
        mixture_share = rng.uniform(0.05, 0.3)  # v3: 0.03-0.2
    else:
        mixture_share = rng.uniform(0.5, 0.9) if rng.random() < 0.15 else 1.0
    others: tuple[str, ...] = ()
    other_difficulties: tuple[dict[str, Any], ...] = ()
    if mixture_share < 1.0:
        others = tuple(rng.sample([f for f in FAMILIES if f != family.name], rng.randint(2, 4)))
        other_difficulties = tuple(difficulty_at(get_family(f), rng.uniform(0.0, 0.6), rng) for f in others)
    return DataPlan(
        n_train=n_train,
        n_eval=n_eval,
        n_test=n_test,
        system_prompt=rng.choice(SYSTEM_PROMPTS),
        label_noise=round(noise, 4),
        duplicate_share=round(dups, 4),
        eval_leak_share=round(leak, 4),
        majority_label=majority_label,
        majority_share=None if majority_share is None else round(majority_share, 4),
        long_context_share=round(long_share, 4),
        mixture_share=round(mixture_share, 4),
        mixture_families=others,
        mixture_difficulties=other_difficulties,
    )


def _templates(rng: random.Random, problems: tuple[str, ...]) -> tuple[str | None, str]:
    """(recipe chat_template, serving template). None in the recipe means the tokenizer's own (ChatML)."""
    if "template_mismatch" in problems:
        # Trained on one layout, served with the other: either the recipe overrode the tokenizer's
        # template, or it kept it and the serving stack used a plain prompt.
        return ("plain", "chatml") if rng.random() < 0.5 else (None, "plain")
    choice = rng.choices([None, "chatml", "plain"], [0.75, 0.15, 0.10])[0]
    return choice, choice or TOKENIZER_TEMPLATE


@dataclass(frozen=True)
class LengthProfile:
    """Token lengths of a sample of rendered rows (no distractor context), sorted."""

    lengths: tuple[int, ...]
    answer_max: int  # longest answer, end-of-turn token included

    def quantile(self, q: float) -> int:
        return self.lengths[int(q * (len(self.lengths) - 1))]

    @property
    def max(self) -> int:
        return self.lengths[-1]

    def summary(self) -> dict[str, int]:
        return {
            "min": self.lengths[0],
            "p50": self.quantile(0.5),
            "p95": self.quantile(0.95),
            "max": self.max,
            "answer_max": self.answer_max,
        }


def _length_profile(seed: int, family, difficulty, plan: DataPlan, template: str | None) -> LengthProfile:
    """Lengths of 32 target rows (+ 8 per mixed-in family) under the training template."""
    from tuneahead.bench.tasks import chat_row, sample_unique
    from tuneahead.data.example import Example, Message
    from tuneahead.data.render import NAMED_TEMPLATES, tokenize_batch

    rng = stream(seed, "lengths")
    pairs = sample_unique(family, difficulty, 32, rng)
    for name, diff in zip(plan.mixture_families, plan.mixture_difficulties):
        pairs += sample_unique(get_family(name), diff, 8, rng)
    examples = [
        Example(
            id=f"probe:{i}",
            source_format="messages",
            messages=tuple(
                Message(m["role"], m["content"]) for m in chat_row(p, a, plan.system_prompt)["messages"]
            ),
        )
        for i, (p, a) in enumerate(pairs)
    ]
    toks = tokenize_batch(
        examples, _tiny_bundle(), NAMED_TEMPLATES[template or TOKENIZER_TEMPLATE], "completion"
    )
    return LengthProfile(
        lengths=tuple(sorted(t.length for t in toks)),
        answer_max=max(int(t.completion_mask.sum()) for t in toks),
    )


@lru_cache(maxsize=1)
def _tiny_bundle():
    from tuneahead.models.tokenizer import resolve_tokenizer

    bundle, note = resolve_tokenizer(model=MODEL_ORDER[0])
    if note:  # the tiny tokenizer ships with the package; a fallback would make lengths wrong
        raise RuntimeError(f"the tiny models' tokenizer is missing: {note}")
    return bundle


def _recipe(
    rng: random.Random,
    seed: int,
    model: str,
    plan: DataPlan,
    lengths: LengthProfile,
    problems: tuple[str, ...],
    template: str | None,
    budget_tokens: int,
) -> tuple[Recipe, dict[str, str]]:
    has = problems.__contains__
    full = rng.random() < 0.7
    if full:
        adapter: dict[str, Any] = {"type": "full"}
    else:
        rank = rng.choice((4, 8, 16, 32))
        adapter = {
            "type": "lora",
            "rank": rank,
            "alpha": float(rank * rng.choice((1, 2))),
            "target_modules": rng.choice(("all-linear", ["q_proj", "v_proj"])),
            "dropout": rng.choice((0.0, 0.05)),
        }

    lr_regime = "too_low" if has("lr_too_low") else "too_high" if has("lr_too_high") else "sensible"
    if lr_regime == "too_low":
        lr = _log_uniform(rng, 1e-6, 2e-5) if full else _log_uniform(rng, 2e-6, 5e-5)
    elif lr_regime == "too_high":
        lr = _log_uniform(rng, 2e-2, 2e-1) if full else _log_uniform(rng, 5e-2, 5e-1)
    else:
        lr = _log_uniform(rng, 3e-4, 3e-3) if full else _log_uniform(rng, 1e-3, 1e-2)
    clip = None if (lr_regime == "too_high" and rng.random() < 0.5) or rng.random() < 0.1 else 1.0

    micro = rng.choices((4, 8, 16, 32), (0.1, 0.3, 0.45, 0.15))[0]
    accum = rng.choices((1, 2, 4), (0.7, 0.2, 0.1))[0]
    while micro * accum > 64:
        accum //= 2
    eff = micro * accum

    # Context length: the smallest usual value that fits every sampled row (sometimes one size up).
    length_regime = "fits"
    fits = [m for m in MAX_SEQ_CHOICES if m >= lengths.max * 1.1 + 2] or [MAX_SEQ_CHOICES[-1]]
    max_len = fits[1] if len(fits) > 1 and rng.random() < 0.3 else fits[0]
    if has("long_context"):
        length_regime = "long_context"
        # Rows of <= 114 tokens plus <= 168 context words (~1.7 tokens each) stay inside the model's context.
        max_len = min(max_len, 128)
    elif has("short_max_len"):
        length_regime = "too_short"
        # Somewhere below the median row: from "the EOS is cut" to "most answers are gone".
        cut_at = lengths.quantile(rng.uniform(0.0, 0.5)) - rng.randint(0, lengths.answer_max)
        max_len = max([m for m in SHORT_SEQ_CHOICES if m <= cut_at] or [SHORT_SEQ_CHOICES[0]])

    seq_tokens = _seq_tokens(max_len, lengths.quantile(0.95), plan.long_context_share)
    max_budget_steps = max(1, budget_tokens // (eff * seq_tokens))
    n_rows = plan.n_train_rows
    per_epoch = math.ceil(n_rows / eff)
    max_steps: int | None = None
    if has("undertrained"):
        steps_regime = "too_few"
        max_steps = rng.randint(5, 30)  # v3: 3-20
        epochs = 1.0
    elif has("overtrained"):
        steps_regime = "too_many"
        steps = min(max_budget_steps, rng.randint(300, 800))
        epochs = float(max(30, math.floor(steps / per_epoch)))
        if per_epoch * epochs > max_budget_steps:
            epochs = float(max(1, max_budget_steps // per_epoch))
    else:
        steps_regime = "sensible"
        want = min(max_budget_steps, round(_log_uniform(rng, 150, 700)))
        exact = want / per_epoch
        if exact < 1 or rng.random() < 0.25:
            max_steps = max(10, want // 10 * 10) if want >= 10 else want  # round down: stay in budget
            epochs = float(max(1, math.ceil(exact)))
        else:
            epochs = float(min(NICE_EPOCHS, key=lambda e: abs(math.log(e / exact))))
            while epochs > 1 and per_epoch * epochs > max_budget_steps:
                epochs = float(max(e for e in NICE_EPOCHS if e < epochs))
            if per_epoch * epochs > max_budget_steps:  # one epoch is over budget: cap the steps
                max_steps = max_budget_steps

    if max_steps is None and per_epoch * epochs > max_budget_steps:
        max_steps = max_budget_steps  # even one epoch is over budget: cap the steps, as a user would

    # Validated like any user recipe (model_validate keeps type checkers off pydantic's defaults).
    recipe = Recipe.model_validate(
        {
            "base_model": model,
            "adapter": adapter,
            "learning_rate": float(f"{lr:.3g}"),
            "weight_decay": rng.choice((0.0, 0.0, 0.01, 0.1)),
            "max_grad_norm": clip,
            "lr_scheduler": rng.choices(
                ("linear", "cosine", "constant_with_warmup", "constant"), (0.35, 0.45, 0.1, 0.1)
            )[0],
            "warmup_ratio": rng.choice((0.0, 0.03, 0.05, 0.1)),
            "num_epochs": epochs,
            "max_steps": max_steps,
            "micro_batch_size": micro,
            "gradient_accumulation_steps": accum,
            "max_seq_length": max_len,
            "loss_on": "all" if has("prompt_loss") else "completion",
            "chat_template": template,
            "seed": stream(seed, "training").randrange(2**31),
            "precision": "fp32",
            "datasets": [{"path": "train.jsonl", "format": "messages"}],
            "eval_datasets": [{"path": "eval.jsonl", "format": "messages"}],
        }
    )
    regimes = {"lr_regime": lr_regime, "steps_regime": steps_regime, "length_regime": length_regime}
    return recipe, regimes


def _seq_tokens(max_len: int, p95: int, long_share: float) -> int:
    # Micro-batches pad to their longest row: with distractor contexts about, that is max_len.
    return max_len if long_share > 0.05 else min(max_len, p95)


def estimated_cost(scenario: Scenario) -> RunCost:
    """Training cost of the full run: steps x effective batch x padded sequence tokens, and CPU seconds.

    Seconds scale the measured time of one 16 x 64-token step on 2 threads by the tokens per step;
    LoRA is costed as full fine-tuning (the backward pass still runs through every layer).
    """
    recipe, plan = scenario.recipe, scenario.data
    seq = _seq_tokens(recipe.max_seq_length, plan.token_p95 or recipe.max_seq_length, plan.long_context_share)
    steps = recipe.total_steps(scenario.data.n_train_rows)
    eff = recipe.effective_batch_size
    tokens = steps * eff * seq
    seconds = SECONDS_PER_REFERENCE_STEP[scenario.model] * tokens / REFERENCE_STEP_TOKENS
    return RunCost(
        steps=steps, effective_batch=eff, seq_tokens=seq, train_tokens=tokens, seconds=round(seconds, 2)
    )


def _ground_truth(
    s: Scenario,
    level: float,
    lengths: LengthProfile,
    regimes: dict[str, str],
    train_template: str | None,
    draw: TargetDraw,
) -> dict[str, Any]:
    family = get_family(s.family)
    truth: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "run_id": s.run_id,
        "scenario_seed": s.seed,
        "family": s.family,
        "difficulty": dict(s.difficulty),
        "difficulty_level": round(level, 4),
        "difficulty_score": round(difficulty_score(family, s.difficulty), 4),
        "model": s.model,
        "proxy_model": s.proxy_model,
        "problems": list(s.problems),
        "sensible": s.sensible,
        "data": _plan_to_dict(s.data),
        "training_template": train_template or TOKENIZER_TEMPLATE,
        "serving_template": s.eval_chat_template,
        **regimes,
        "token_lengths": lengths.summary(),
        "target": asdict(draw),
    }
    truth["cost"] = asdict(estimated_cost(s))
    return truth


def _plan_to_dict(plan: DataPlan) -> dict[str, Any]:
    out = asdict(plan)
    out["context_words"] = list(plan.context_words)
    out["mixture_families"] = list(plan.mixture_families)
    out["mixture_difficulties"] = [dict(d) for d in plan.mixture_difficulties]
    return out


# ---------------------------------------------------------------- files


HIDDEN = ".hidden"  # dot-folder: folder scans (describe --data FOLDER) skip it


def scenario_splits(scenario: Scenario) -> Splits:
    """The rows `materialise` writes (with per-row tags for analysis), without writing them."""
    return build_splits(scenario.family, scenario.difficulty, scenario.data, scenario.seed)


def materialise(scenario: Scenario, folder: str | Path) -> ScenarioFiles:
    """Write the scenario's files; returns their paths.

    `folder` gets what a user would have: `train.jsonl`, `eval.jsonl` and `recipe.yaml` (native
    format, dataset paths relative to it). `folder/.hidden/` gets what no feature may read: the clean
    `test.jsonl`, `ground_truth.json` and `scenario.json`.
    """
    from tuneahead.recipe.dump import dump_recipe

    root = Path(folder)
    hidden = root / HIDDEN
    hidden.mkdir(parents=True, exist_ok=True)
    splits = scenario_splits(scenario)
    files = ScenarioFiles(
        folder=root,
        train=root / "train.jsonl",
        eval=root / "eval.jsonl",
        recipe=root / "recipe.yaml",
        test=hidden / "test.jsonl",
        ground_truth=hidden / "ground_truth.json",
        scenario=hidden / "scenario.json",
    )
    _write_jsonl(files.train, splits.train)
    _write_jsonl(files.eval, splits.eval)
    _write_jsonl(files.test, splits.test)
    dump_recipe(scenario.recipe, files.recipe)
    files.ground_truth.write_text(json.dumps(scenario.ground_truth, indent=2) + "\n", encoding="utf-8")
    files.scenario.write_text(json.dumps(scenario.to_dict(), indent=2) + "\n", encoding="utf-8")
    return files


def load_scenario(path: str | Path) -> Scenario:
    """Read back a `scenario.json` written by `materialise`."""
    return Scenario.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
