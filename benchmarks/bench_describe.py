"""Benchmark: `tuneahead describe` on 100,000 generated chat examples (+ a 2,000-row eval set), as a ratio to its floor.

The floor is what no describe pass can avoid: a process that loads the same tokenizer, reads the same JSONL
and batch-tokenises every message's text (the describe run tokenises whole rendered conversations, so it
does no less). Both are timed as whole processes, start-up included, alternating, median of `--repeats`.
Prints wall times, the ratio, and describe's peak memory. Goals (issue 20): ratio <= 3, peak <= 2 GiB.

    python benchmarks/bench_describe.py [--rows 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from planted import Planted, make_dataset, write_jsonl  # noqa: E402

FLOOR = """
import json, sys
from tuneahead.models.tokenizer import load_default_tokenizer
tok = load_default_tokenizer().tokenizer
tokens = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as fh:
        texts = [m["content"] for line in fh for m in json.loads(line)["messages"]]
    for start in range(0, len(texts), 2048):
        tokens += sum(len(e.ids) for e in tok.encode_batch(texts[start:start + 2048], add_special_tokens=False))
print(tokens)
"""


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{cmd[:4]} failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout[-2000:]}")
    return wall, proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
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
        describe_cmd = [sys.executable, "-m", "tuneahead.cli", "describe", "--data", str(train_path),
                        "--eval", str(eval_path), "--recipe", str(recipe), "--json"]
        floor_cmd = [sys.executable, "-c", FLOOR, str(train_path), str(eval_path)]
        floors: list[float] = []
        describes: list[float] = []
        for _ in range(args.repeats):
            floors.append(_timed(floor_cmd)[0])
            wall, proc = _timed(describe_cmd)
            describes.append(wall)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB; max child
        payload = json.loads(proc.stdout)
    floor, describe = statistics.median(floors), statistics.median(describes)
    d = {k: v["value"] for k, v in payload["descriptors"].items()}
    print(f"rows: {args.rows:,} train ({size_mb:.1f} MiB JSONL) + 2,000 eval; tokenizer: {payload['tokenizer']['name']}")
    print(f"floor (read JSONL + tokenise every message, whole process): median {floor:.1f} s "
          f"of {', '.join(f'{s:.1f}' for s in floors)}")
    print(f"describe (whole process): median {describe:.1f} s of {', '.join(f'{s:.1f}' for s in describes)}; "
          f"in-process {payload['seconds']:.1f} s")
    print(f"ratio describe / floor: {describe / floor:.2f}x   [goal <= 3x]")
    print(f"peak memory (RSS, largest child process): {peak_mib:.0f} MiB   [goal <= 2048 MiB]")
    print("recovered: exact dup {:.3f} (planted 0.030), near dup {:.3f} (0.030), eval leak {:.3f} (0.050), "
          "answer cut {:.3f} (0.020)".format(d["exact_duplicate_share"], d["near_duplicate_share"],
                                            d["eval_exact_leak_share"], d["answer_cut_share"]))


if __name__ == "__main__":
    main()
