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
from dataclasses import asdict, dataclass, replace
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
from tuneahead.bench.scenario_cost import _seq_tokens, estimated_cost
from tuneahead.bench.scenario_model import Scenario, ScenarioFiles, _plan_to_dict
from tuneahead.bench.scenario_params import (
    DEFAULT_BUDGET_TOKENS,
    GENERATOR_VERSION,
    EXCLUSIVE,
    GENERATOR_FAMILIES,
    MAX_SEQ_CHOICES,
    MIN_FAMILY_WEIGHT,
    MODEL_ORDER,
    NICE_EPOCHS,
    PROBLEM_COUNT_WEIGHTS,
    PROBLEM_WEIGHTS,
    PROBLEMS,
    SHORT_SEQ_CHOICES,
    SYSTEM_PROMPTS,
    TOKENIZER_TEMPLATE,
)
from tuneahead.bench.tasks import FAMILIES, difficulty_at, difficulty_score, get_family, is_labelled
from tuneahead.recipe.model import Recipe

# ---------------------------------------------------------------- sampling


def sample_scenario(
    rng_or_seed: random.Random | int,
    *,
    model_sizes: tuple[str, ...] | list[str] = MODEL_ORDER,
    families: tuple[str, ...] | list[str] | None = None,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    n_eval: int = 200,
    n_test: int = 500,
    generator_version: int = GENERATOR_VERSION,
    run_length: float = 1.0,
) -> Scenario:
    """Sample one scenario. An int seed gives the same scenario every time; a `Random` is advanced once.

    `model_sizes` and `families` restrict the draw (e.g. to hold a family out of a corpus);
    `budget_tokens` bounds steps x effective batch x sequence tokens of the full run;
    `generator_version` picks the family pool of an older generator (see `GENERATOR_FAMILIES`);
    `run_length` scales the full run's step counts and budget (1: as drawn; 4: runs long enough that the
    default probe costs at most ~3 % of them, as users meet it), drawing everything else the same.
    """
    if not 0.25 <= run_length <= 16:
        raise ValueError(f"run_length must be between 0.25 and 16, got {run_length}")
    seed = rng_or_seed.getrandbits(48) if isinstance(rng_or_seed, random.Random) else int(rng_or_seed)
    if seed < 0:
        raise ValueError(f"scenario seeds are non-negative integers, got {seed}")
    models = _check_models(model_sizes)
    pool = _family_pool(generator_version)
    names = list(pool) if families is None else _check_families(families)
    rng = stream(seed, "scenario")

    family = get_family(rng.choices(names, [_family_weight(f, models) for f in names])[0])
    model = _pick_model(rng, family.name, models)
    # Mostly difficulties this model can learn (v2 drew them over the whole range, and two thirds of its
    # runs scored ~0 whatever the recipe): see `learnable_level`.
    level = rng.uniform(0.0, learnable_level(family.name, model))
    difficulty = difficulty_at(family, level, rng)
    problems = _draw_problems(rng, labelled=is_labelled(family))

    plan = _data_plan(rng, family, difficulty, problems, n_eval, n_test, pool)
    train_template, eval_template = _templates(rng, problems)
    lengths = _length_profile(seed, family, difficulty, plan, train_template)
    plan = replace(plan, token_p95=lengths.quantile(0.95))
    recipe, regimes = _recipe(
        rng, seed, model, plan, lengths, problems, train_template, round(budget_tokens * run_length), run_length
    )
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
    truth = _ground_truth(scenario, level, lengths, regimes, train_template, draw, generator_version)
    if run_length != 1.0:
        truth["run_length"] = run_length
    return replace(scenario, ground_truth=truth)


def with_seed_repeat(scenario: Scenario, repeat: int) -> Scenario:
    """The same scenario trained with another training seed (repeat 0 is the scenario as sampled).

    Data, recipe and target stay; only the recipe's seed (initialisation of adapters, data order) changes,
    so the spread over repeats is the run-to-run noise a user would see rerunning their recipe.
    """
    if repeat < 0:
        raise ValueError(f"seed repeats are numbered from 0, got {repeat}")
    if repeat == 0:
        return scenario
    seed = stream(scenario.seed, f"training-repeat-{repeat}").randrange(2**31)
    truth = {**scenario.ground_truth, "seed_repeat": repeat, "training_seed": seed}
    return replace(scenario, recipe=scenario.recipe.model_copy(update={"seed": seed}), ground_truth=truth)


def _check_models(model_sizes) -> list[str]:
    models = list(model_sizes)
    unknown = [m for m in models if m not in MODEL_ORDER]
    if not models or unknown:
        raise ValueError(f"model_sizes must be built-in tiny models {list(MODEL_ORDER)}; got {models}")
    return models


def _family_pool(version: int) -> tuple[str, ...]:
    if version not in GENERATOR_FAMILIES:
        raise ValueError(
            f"unknown TuneBench generator v{version}; this code draws v{', v'.join(map(str, GENERATOR_FAMILIES))}"
        )
    return GENERATOR_FAMILIES[version]


def _check_families(families) -> list[str]:
    names = list(families)
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


def _data_plan(rng, family, difficulty, problems, n_eval: int, n_test: int, pool: tuple[str, ...]) -> DataPlan:
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
        others = tuple(rng.sample([f for f in pool if f != family.name], rng.randint(2, 4)))
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
    run_length: float = 1.0,
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
        steps = min(max_budget_steps, round(rng.randint(300, 800) * run_length))
        epochs = float(max(30, math.floor(steps / per_epoch)))
        if per_epoch * epochs > max_budget_steps:
            epochs = float(max(1, max_budget_steps // per_epoch))
    else:
        steps_regime = "sensible"
        drawn = _log_uniform(rng, 150, 700)
        want = min(max_budget_steps, round(drawn * run_length))
        exact = want / per_epoch
        # The branch is decided on the unscaled draw, so that a longer run draws the same random numbers:
        # run_length changes the steps and nothing else of the scenario.
        unscaled_steps = max(1, round(budget_tokens / run_length) // (eff * seq_tokens))
        if min(unscaled_steps, round(drawn)) / per_epoch < 1 or rng.random() < 0.25:
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


def _ground_truth(
    s: Scenario,
    level: float,
    lengths: LengthProfile,
    regimes: dict[str, str],
    train_template: str | None,
    draw: TargetDraw,
    generator_version: int,
) -> dict[str, Any]:
    family = get_family(s.family)
    truth: dict[str, Any] = {
        "generator_version": generator_version,
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


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
