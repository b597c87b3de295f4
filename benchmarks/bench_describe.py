"""Benchmark: `tuneahead describe` on 100,000 generated chat examples (+ a 2,000-row eval set).

Prints wall time and peak memory (RSS) of the describe process. Goal: <= 60 s and <= 2 GiB on 2 cores.

    python benchmarks/bench_describe.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from planted import Planted, make_dataset, write_jsonl  # noqa: E402


RECIPE = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        train, ev = make_dataset(
            Planted(args.rows, exact_dup=0.03, near_dup=0.03, eval_leak=0.05, overlength=0.02), n_eval=2000
        )
        train_path = write_jsonl(train, Path(tmp) / "train.jsonl")
        eval_path = write_jsonl(ev, Path(tmp) / "eval.jsonl")
        recipe = Path(tmp) / "recipe.yaml"
        recipe.write_text("base_model: HuggingFaceTB/SmolLM2-135M-Instruct\nmax_seq_length: 512\n", encoding="utf-8")
        size_mb = train_path.stat().st_size / 2**20
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "tuneahead.cli", "describe", "--data", str(train_path), "--eval", str(eval_path),
             *(["--recipe", str(recipe)] if RECIPE else []), "--json"],
            capture_output=True, text=True,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"describe failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout[-2000:]}")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
        payload = json.loads(proc.stdout)
    d = {k: v["value"] for k, v in payload["descriptors"].items()}
    print(f"rows: {args.rows:,} train ({size_mb:.1f} MiB JSONL) + 2,000 eval")
    print(f"tokenizer: {payload['tokenizer']['name']}")
    print(f"describe wall time (process, incl. start-up): {wall:.1f} s   [goal <= 60 s]")
    print(f"describe peak memory (RSS): {peak_mib:.0f} MiB   [goal <= 2048 MiB]")
    print(f"in-process seconds reported: {payload['seconds']:.1f} s")
    print("recovered: exact dup {:.3f} (planted 0.030), near dup {:.3f} (0.030), eval leak {:.3f} (0.050), "
          "answer cut {:.3f} (0.020)".format(d["exact_duplicate_share"], d["near_duplicate_share"],
                                            d["eval_exact_leak_share"], d["answer_cut_share"]))


if __name__ == "__main__":
    main()
