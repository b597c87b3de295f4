"""Benchmark: `tuneahead check` on three prepared cases on the tiny model, with the bundled predictor.

1. sound      — a TuneBench-style sentiment task (TuneBench generator, easy setting) and a sensible
                full fine-tune of tiny-1m (lr 1e-3, 3 epochs);
2. truncated  — the same data with max_seq_length 32: 88 % of answers are cut, 54 % lost entirely;
3. diverging  — the same data and recipe with the learning rate at 3.0 and no clipping.

Prints each verdict, P(success), the forecast, the top reasons and the findings, and the check's time.
The right answers: GO (or at least not NO-GO) for 1, NO-GO with truncation among the reasons/findings
for 2, NO-GO because the probe diverged for 3.

    python benchmarks/bench_check_cases.py [--target 0.8] [--predictor DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

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


def write_task(folder: Path, n_train: int = 1200, n_eval: int = 200) -> None:
    from tuneahead.bench.tasks import chat_row, difficulty_at, get_family, sample_unique

    family = get_family("sentiment")
    pairs = sample_unique(family, difficulty_at(family, 0.2), n_train + n_eval, random.Random(11))
    rows = [chat_row(p, a) for p, a in pairs]
    for name, part in (("train.jsonl", rows[:n_train]), ("eval.jsonl", rows[n_train:])):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in part))


CASES = {
    "sound": {"lr": "1.0e-3", "clip": "1.0", "max_len": 128},
    "truncated": {"lr": "1.0e-3", "clip": "1.0", "max_len": 32},  # 88 % of answers cut, 54 % lost
    "diverging": {"lr": "3.0", "clip": "null", "max_len": 128},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="exact_match>=0.8")
    parser.add_argument("--predictor", default=None)
    parser.add_argument("--threads", type=int, default=2)
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
            for r in v.top_reasons(4):
                print(f"   reason {r.contribution:+.3f}: {r.text}")
            for f in v.findings:
                print(f"   finding [{f.severity}] {f.code}: {f.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
