"""A TuneBench scenario as data: what a run trains, on what, how and the bar it must clear, and its files;
round-trips through JSON (`scenario.json`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuneahead.bench.scenario_data import DataPlan
from tuneahead.bench.scenario_params import RECIPE_PROBLEMS
from tuneahead.recipe.model import Recipe


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


def _plan_to_dict(plan: DataPlan) -> dict[str, Any]:
    out = asdict(plan)
    out["context_words"] = list(plan.context_words)
    out["mixture_families"] = list(plan.mixture_families)
    out["mixture_difficulties"] = [dict(d) for d in plan.mixture_difficulties]
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read back a `scenario.json` written by `materialise`."""
    return Scenario.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
