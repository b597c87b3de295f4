"""One TuneBench run, end to end, as the campaign's default task function.

1. Sample the scenario from the task's seed and write its files (user-visible + hidden).
2. What a user has before the run: load the recipe file, `describe` the data (static features),
   run the probe with the engine's default budget (dynamic features) — the probe's trace is kept
   whole, and a longer probe (`probe_max_steps`) is recorded so shorter probes' features can be
   recomputed from its prefix.
3. The real run: train to the end with the same engine, logging train loss every step and eval
   loss + eval exact-match at evenly spaced points (the live curves Early-Stop Extrapolation sees).
4. Outcome: greedy exact-match on the clean hidden test set, served with the scenario's template.
5. ProxyLM: the same recipe on the next smaller zoo model (fine-tuned and zero-shot scores).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tuneahead.store.curves import finite_or_none, probe_curves
from tuneahead.store.sqlite import RunRecord

DEFAULT_OPTIONS: dict[str, Any] = {
    "curve_points": 10,  # eval points along the full run (step 0 and the last included)
    "eval_metric_examples": 100,  # eval examples scored by generation at each curve point
    "probe_max_steps": 60,  # the recorded probe trace (prefixes give shorter probes)
    "keep_files": False,  # keep the scenario folder after the run
    "generator_version": None,  # when set, refuse to run under another generator (a corpus never mixes them)
    "run_length": 1.0,  # scales every full run's steps (4: the default probe costs <= ~3 % of most runs)
}


def _options(payload: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULT_OPTIONS, **(payload.get("options") or {})}


def execute_task(run_id: str, payload: dict[str, Any]) -> RunRecord:
    opts = _options(payload)
    with _scenario_files(payload, run_id, keep=opts["keep_files"]) as (scenario, files):
        return _run(run_id, scenario, files, opts)


def probe_again(run_id: str, payload: dict[str, Any]) -> dict[str, float]:
    """A recorded run's default probe, run again from its task payload: its dynamic features.

    Scenario, files, model and probe all follow from the seed, so this reproduces the recorded probe and
    also measures features added since (`scripts/backfill_probe_features.py`).
    """
    from tuneahead.models.loading import load_model

    with _scenario_files(payload, f"{run_id}-again") as (scenario, files):
        recipe, train, evals = _user_data(files)
        return _default_probe(recipe, train, evals, load_model(scenario.model, seed=scenario.seed)).features


@contextmanager
def _scenario_files(payload: dict[str, Any], folder_name: str, *, keep: bool = False) -> Iterator[tuple[Any, Any]]:
    """The payload's scenario and its files in the work folder (removed afterwards unless `keep`)."""
    import shutil

    from tuneahead.bench.scenario_params import MODEL_ORDER
    from tuneahead.bench.scenarios import materialise, sample_scenario, with_seed_repeat

    opts = _options(payload)
    version = _check_generator(opts["generator_version"])
    scenario = sample_scenario(
        int(payload["seed"]), model_sizes=payload.get("models") or MODEL_ORDER, families=payload.get("families") or None,
        generator_version=version, run_length=float(opts["run_length"]),
    )
    scenario = with_seed_repeat(scenario, int(payload.get("seed_repeat") or 0))
    folder = Path(payload["work_dir"]) / folder_name
    files = materialise(scenario, folder)
    try:
        yield scenario, files
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _check_generator(pinned: int | None) -> int:
    """The generator version to draw with: the spec's pin if this code still draws it exactly, else refuse."""
    from tuneahead.bench.scenario_params import GENERATOR_FAMILIES, GENERATOR_VERSION

    if pinned is None:
        return GENERATOR_VERSION
    if int(pinned) not in GENERATOR_FAMILIES:
        raise RuntimeError(
            f"this campaign's spec pins TuneBench generator v{pinned}, but this TuneAhead generates "
            f"v{', v'.join(map(str, GENERATOR_FAMILIES))}: its runs would not be comparable. "
            f"Start a new campaign for v{GENERATOR_VERSION}."
        )
    return int(pinned)


def _user_data(files) -> tuple[Any, list, list]:
    """What a user has: the recipe exactly as its file says, and the train and eval rows it names."""
    from tuneahead.data.load import load_examples
    from tuneahead.recipe.load import load_recipe

    recipe = load_recipe(files.recipe)
    train, _ = load_examples([d.path for d in recipe.datasets])
    evals, _ = load_examples([d.path for d in recipe.eval_datasets]) if recipe.eval_datasets else ([], None)
    return recipe, train, evals


def _default_probe(recipe, train, evals, loaded, steps: int | None = None):
    """The probe a user would run (the engine's default budget unless `steps`), on one thread."""
    from tuneahead.probe.engine import run_probe

    return run_probe(recipe, train, evals or None, model=loaded, threads=1, steps=steps)


def _run(run_id: str, scenario, files, opts: dict[str, Any]) -> RunRecord:
    from tuneahead.data.describe import describe
    from tuneahead.data.load import load_examples
    from tuneahead.models.loading import load_model

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    recipe, train, evals = _user_data(files)
    described = describe(recipe=recipe)
    test, _ = load_examples(files.test)
    timings["describe"] = time.perf_counter() - t0

    loaded = load_model(scenario.model, seed=scenario.seed)
    # The probe a user would run (default budget), then a longer one whose prefixes give shorter probes.
    t1 = time.perf_counter()
    probe = _default_probe(recipe, train, evals, loaded)
    timings["probe"] = time.perf_counter() - t1
    long_steps = max(opts["probe_max_steps"], probe.setup.steps_planned)
    long_probe = _default_probe(recipe, train, evals, loaded, steps=long_steps)

    full = _train_and_score(recipe, train, evals, test, loaded, scenario, opts, curve=True)
    proxy = _proxy_scores(recipe, train, evals, test, scenario, opts)

    record = RunRecord(
        run_id=run_id,
        recipe=recipe.model_dump(mode="json"),
        static_features=described.descriptors,
        dynamic_features=probe.features,
        curves={
            **probe_curves(long_probe),
            "full_train": full["train_curve"],
            "full_eval": full["eval_curve"],
        },
        final_metric=full["test_metric"],
        target=scenario.target,
        costs={
            "flops_probe": probe.cost.probe_flops,
            "flops_full": full["flops"],
            "flops_full_estimated": probe.cost.full_flops,
            "flops_proxy": proxy["flops"],
            "seconds_probe": timings["probe"],
            "seconds_full": full["seconds"],
            "seconds_proxy": proxy["seconds"],
            "seconds_describe": timings["describe"],
        },
        family=scenario.family,
        model=scenario.model,
        model_params=float(loaded.num_parameters),
        extra={
            "proxy_model": scenario.proxy_model,
            "proxy_metric": proxy["metric"],
            "proxy_zero_shot_metric": proxy["zero_shot"],
            "proxy_scored_on": proxy["scored_on"],  # "eval" (the user's eval rows); absent in older runs: "test"
            "proxy_test_metric": proxy["test_metric"],
            "proxy_test_zero_shot_metric": proxy["test_zero_shot"],
            "zero_shot_metric": full["zero_shot"],
            "final_eval_metric": full["eval_metric"],
            "probe_steps": probe.setup.steps_planned,
            "probe_step_choice": probe.setup.step_choice,
            "probe_notes": probe.notes,
            "full_steps": full["steps"],
            "diverged": full["diverged"],
            "findings": [f.code for f in described.findings] + [f.code for f in probe.findings],
            "finding_severities": {f.code: f.severity for f in [*described.findings, *probe.findings]},
            "sensible": scenario.sensible,
        },
        ground_truth={**scenario.ground_truth, "problems": list(scenario.problems), "sensible": scenario.sensible},
    )
    return record


def _train_and_score(
    recipe, train, evals, test, loaded, scenario, opts, *, curve: bool, score_evals: bool = False
) -> dict[str, Any]:
    """Train the recipe to the end; score on the hidden test set; optionally log the live curves.

    `score_evals` also scores the untrained and the trained model on the user's eval rows (what a user
    running the recipe on a proxy model could measure).
    """
    from tuneahead.bench.generation_eval import exact_match_accuracy
    from tuneahead.data.render import resolve_template
    from tuneahead.probe.engine import run_probe

    serve_template = resolve_template(loaded.bundle, scenario.eval_chat_template)
    scored_evals = evals[: opts["eval_metric_examples"]]

    def eval_metric(model, step: int) -> dict[str, float]:
        return {"metric": exact_match_accuracy(model, loaded.bundle, serve_template, scored_evals, scenario.family)}

    zero_shot = exact_match_accuracy(loaded.model, loaded.bundle, serve_template, test, scenario.family)
    started = time.perf_counter()
    steps = _full_steps(recipe, len(train))
    result = run_probe(
        recipe, train, evals or None, model=loaded, threads=1, steps=steps, return_model=True,
        eval_points=opts["curve_points"] if curve else 2,
        on_eval=eval_metric if (curve and scored_evals) else None,
    )
    seconds = time.perf_counter() - started
    test_metric = exact_match_accuracy(result.model, loaded.bundle, serve_template, test, scenario.family)
    eval_scores: dict[str, float | None] = {"eval_final": None, "eval_zero_shot": None}
    if score_evals and scored_evals:
        eval_scores = {
            "eval_final": exact_match_accuracy(result.model, loaded.bundle, serve_template, scored_evals, scenario.family),
            "eval_zero_shot": exact_match_accuracy(loaded.model, loaded.bundle, serve_template, scored_evals,
                                                   scenario.family),
        }
    out: dict[str, Any] = {
        **eval_scores,
        "test_metric": test_metric,
        "zero_shot": zero_shot,
        "seconds": seconds,
        "flops": result.cost.probe_flops,  # FLOPs of this run as executed (the engine counts what it ran)
        "steps": steps,
        "diverged": result.diverged,
        "eval_metric": None,
    }
    if curve:
        out["train_curve"] = {"step": [r.step for r in result.trace], "loss": [finite_or_none(r.loss) for r in result.trace]}
        points = result.eval_points
        out["eval_curve"] = {
            "step": [p.step for p in points],
            "loss": [finite_or_none(p.loss) for p in points],
            "metric": [finite_or_none((p.extra or {}).get("metric")) for p in points],
        }
        metrics = [m for m in out["eval_curve"]["metric"] if m is not None]
        out["eval_metric"] = metrics[-1] if metrics else None
    return out


def _full_steps(recipe, n_train: int) -> int:
    """Optimizer steps of the full run, as the trainer would count them (no packing in TuneBench)."""
    return recipe.total_steps(n_train)


def _proxy_scores(recipe, train, evals, test, scenario, opts) -> dict[str, Any]:
    """ProxyLM: the same recipe on the next smaller zoo model; NaN when there is none."""
    if not scenario.proxy_model:
        return {"metric": None, "zero_shot": None, "scored_on": None, "test_metric": None, "test_zero_shot": None,
                "flops": None, "seconds": None}
    from tuneahead.models.loading import load_model

    proxy = load_model(scenario.proxy_model, seed=scenario.seed)
    proxy_recipe = recipe.model_copy(update={"base_model": scenario.proxy_model})
    result = _train_and_score(proxy_recipe, train, evals, test, proxy, scenario, opts, curve=False, score_evals=True)
    # What a user could measure: the proxy's score on their own eval rows. The hidden-test scores are kept
    # for analysis only (runs up to generator v3 used them as the ProxyLM input; see docs/evaluation.md).
    return {"metric": result["eval_final"], "zero_shot": result["eval_zero_shot"], "scored_on": "eval",
            "test_metric": result["test_metric"], "test_zero_shot": result["zero_shot"],
            "flops": result["flops"], "seconds": result["seconds"]}
