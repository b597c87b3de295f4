"""Benchmark: `tuneahead check` on three prepared cases on the tiny model, with the bundled predictor.

1. sound      — a TuneBench date-rewriting task ("Convert 2006-01-10 to DD/MM/YYYY." -> "10/01/2006",
                1,200 rows) and a sensible full fine-tune of tiny-1m (lr 1e-3, 3 epochs, max_seq_length 64);
2. truncated  — the same data with max_seq_length 40: every row is 45 tokens, so every answer loses its
                last 5 tokens (the year's tail and the end-of-turn token);
3. diverging  — the same data and recipe with the learning rate at 3.0 and no clipping.

Prints each verdict, P(success), the forecast, the top reasons (SHAP of P(success), as odds factors) and
the findings, and the check's time. Measured with the bundled predictor fitted on the pooled v4+v5 corpus:
sound GO (P 0.78), truncated NO-GO (the whole-answer rule; the predictor alone said 0.70), diverging
NO-GO (the probe diverged); the real full runs score 1.0, 0.0 and 0.0.
With --truth, each case is also fine-tuned for real (the full run) and scored by greedy exact match on
300 clean held-out rows, so the verdict can be compared with what actually happens.

    python benchmarks/bench_check_cases.py [--target 0.8] [--predictor DIR] [--threads 2] [--truth]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

FAMILY = "date_format"
RECIPE = """base_model: tiny-1m
adapter: {{type: full}}
learning_rate: {lr}
max_grad_norm: {clip}
lr_scheduler: cosine
warmup_ratio: 0.05
num_epochs: 3
micro_batch_size: 16
max_seq_length: {max_len}
precision: fp32
seed: 7
datasets: [{{path: train.jsonl}}]
eval_datasets: [{{path: eval.jsonl}}]
"""


def write_task(folder: Path, n_train: int = 1200, n_eval: int = 200, n_test: int = 300) -> None:
    from tuneahead.bench.tasks import chat_row, difficulty_at, get_family, sample_unique

    family = get_family(FAMILY)
    pairs = sample_unique(family, difficulty_at(family, 0.0), n_train + n_eval + n_test, random.Random(11))
    rows = [chat_row(p, a) for p, a in pairs]
    parts = {"train.jsonl": rows[:n_train], "eval.jsonl": rows[n_train : n_train + n_eval],
             "test.jsonl": rows[n_train + n_eval :]}
    for name, part in parts.items():
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in part))


def real_outcome(recipe_path: Path, threads: int) -> float:
    """Fine-tune the recipe to the end and score greedy exact match on the clean test rows."""
    from tuneahead.bench.generation_eval import exact_match_accuracy
    from tuneahead.data.load import load_examples
    from tuneahead.data.render import resolve_template
    from tuneahead.models.loading import load_model
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.load import load_recipe

    recipe = load_recipe(recipe_path)
    folder = recipe_path.parent
    train, _ = load_examples(str(folder / "train.jsonl"))
    evals, _ = load_examples(str(folder / "eval.jsonl"))
    test, _ = load_examples(str(folder / "test.jsonl"))
    loaded = load_model(recipe.base_model)
    result = run_probe(recipe, train, evals, model=loaded, threads=threads, steps=recipe.total_steps(len(train)),
                       return_model=True, eval_points=2)
    return exact_match_accuracy(result.model, loaded.bundle, resolve_template(loaded.bundle, None), test, FAMILY)


CASES = {
    "sound": {"lr": "1.0e-3", "clip": "1.0", "max_len": 64},
    "truncated": {"lr": "1.0e-3", "clip": "1.0", "max_len": 40},  # rows are 45 tokens: every answer cut
    "diverging": {"lr": "3.0", "clip": "null", "max_len": 64},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="exact_match>=0.8")
    parser.add_argument("--predictor", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--truth", action="store_true", help="also run each fine-tune and score it")
    args = parser.parse_args()

    from tuneahead.gate import check

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_task(folder)
        for name, params in CASES.items():
            recipe = folder / f"{name}.yaml"
            recipe.write_text(RECIPE.format(**params))
            started = time.perf_counter()
            v = check(recipe, target=args.target, predictor=args.predictor, threads=args.threads)
            print(f"\n== {name}: {v.decision.value}  P(success) {v.p_success:.2f}  forecast {v.forecast:.2f} "
                  f"[{v.interval[0]:.2f}, {v.interval[1]:.2f}]  ({time.perf_counter() - started:.1f} s, "
                  f"stages {[s.steps for s in v.stages]}, OOD {v.ood})")
            print(f"   why: {v.why}")
            print(f"   probe: held-out answers exactly right {v.features.get('probe_eval_sequence_accuracy', float('nan')):.0%}, "
                  f"answer tokens right {v.features.get('probe_eval_token_accuracy', float('nan')):.0%}")
            for r in v.top_reasons(4):
                print(f"   reason {r.contribution:+.3f}: {r.text}")
            for f in v.findings:
                print(f"   finding [{f.severity}] {f.code}: {f.title}")
            if args.truth:
                started = time.perf_counter()
                em = real_outcome(recipe, args.threads)
                verdict_right = (em >= v.target.value) == (v.decision.value == "GO")
                print(f"   real full run: exact match {em:.3f} vs target {v.target.value:g} -> "
                      f"{'success' if em >= v.target.value else 'failure'} "
                      f"({time.perf_counter() - started:.0f} s; verdict {'agrees' if verdict_right else 'disagrees'}"
                      f"{' (UNCERTAIN)' if v.decision.value == 'UNCERTAIN' else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
