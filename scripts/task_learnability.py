"""How well a sensible recipe learns each TuneBench task family: the ceilings targets are drawn from.

For each family and difficulty level: a clean training set, a full fine-tune of a zoo model with a
plain recipe (AdamW, lr 1e-3, cosine, 16 x 1), and greedy exact match on a clean test set; a few
greedy answers are printed next to their references so a family that nobody can learn is caught
with its cause (tokenisation, answer format, too little training) rather than guessed at.

    python scripts/task_learnability.py [--families reverse,caesar] [--levels 0,0.5]
        [--model tiny-1m] [--steps 300] [--workers 2] [--out learnability.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def scan_one(family_name: str, level: float, model_name: str, steps: int, n_train: int, n_test: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from tuneahead.bench.generation_eval import generate_answers
    from tuneahead.bench.tasks import chat_row, difficulty_at, exact_match, get_family, sample_unique
    from tuneahead.data.formats import normalize
    from tuneahead.errors import Location
    from tuneahead.data.render import resolve_template
    from tuneahead.models.loading import load_model
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.model import Recipe

    family = get_family(family_name)
    difficulty = difficulty_at(family, level)
    rng = random.Random(f"learnability:{family_name}:{level}")
    pairs = sample_unique(family, difficulty, n_train + n_test, rng)
    examples = [
        normalize(chat_row(p, a), "messages", f"row:{i}", Location(file="generated", line=i + 1))
        for i, (p, a) in enumerate(pairs)
    ]
    train, test = examples[:n_train], examples[n_train:]
    loaded = load_model(model_name, seed=0)
    recipe = Recipe.model_validate(
        {
            "base_model": model_name,
            "adapter": {"type": "full"},
            "learning_rate": 1e-3,
            "lr_scheduler": "cosine",
            "warmup_ratio": 0.05,
            "max_steps": steps,
            "micro_batch_size": 16,
            "max_seq_length": 256,
            "precision": "fp32",
        }
    )
    started = time.perf_counter()
    result = run_probe(recipe, train, None, model=loaded, threads=1, steps=steps, return_model=True, eval_points=2)
    template = resolve_template(loaded.bundle, None)
    answers, refs = generate_answers(result.model, loaded.bundle, template, test)
    hits = [exact_match(family_name, a, r) for a, r in zip(answers, refs)]
    return {
        "family": family_name,
        "level": level,
        "difficulty": difficulty,
        "model": model_name,
        "steps": steps,
        "final_train_loss": result.trace[-1].loss if result.trace else None,
        "accuracy": sum(hits) / len(hits),
        "seconds": round(time.perf_counter() - started, 1),
        "samples": [{"prompt": p, "answer": a, "reference": r} for (p, _), a, r in list(zip(pairs[n_train:], answers, refs))[:3]],
    }


def main() -> int:
    from tuneahead.bench.tasks import FAMILIES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--levels", default="0,0.5")
    parser.add_argument("--model", default="tiny-1m")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    jobs = [(f, float(level)) for f in args.families.split(",") for level in args.levels.split(",")]
    results = []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(scan_one, f, level, args.model, args.steps, args.n_train, args.n_test) for f, level in jobs
        ]
        for fut in futures:
            r = fut.result()
            results.append(r)
            print(
                f"{r['family']:<18} level {r['level']:.2f}  acc {r['accuracy']:.3f}  "
                f"loss {r['final_train_loss']:.3f}  {r['seconds']:.0f}s  {r['difficulty']}",
                flush=True,
            )
            for s in r["samples"]:
                print(f"    {s['prompt'][:70]!r} -> {s['answer']!r} (want {s['reference']!r})", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
