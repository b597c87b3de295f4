"""Benchmark: the probe on a ~1 M-parameter model, and its overhead over a bare PyTorch loop.

Prints, for a 50-step full fine-tune of `tiny-1m` at 16 sequences × 64 tokens on 2 threads:
- the probe's wall time including model load (goal <= 15 s), and the process start-up (imports) apart;
- the same steps as a bare loop (same model, same batches: forward, backward, clip, step only) and the
  probe's overhead over it, for the training steps alone and for the whole probe (3 held-out evals and
  data preparation included). Each is timed REPEATS times, alternating; the goals (issue 20: <= 5 % for
  the training steps, <= 10 % for the whole call) are read on the medians, the best runs are shown too.

    python benchmarks/bench_probe.py [--steps 50] [--threads 2] [--repeats 3] [--smollm2]

--smollm2 also runs SmolLM2-135M-Instruct, LoRA r=8, 20 steps at 4 × 128 tokens, on the bundled
ticket-routing data (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

STARTED = time.perf_counter()
# As `tuneahead probe` does: passive OpenMP waiting (spinning threads collapse on shared cores).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

WORDS = (
    "apple river stone cloud green piano tiger lemon chair ocean light sugar window garden rocket "
    "silver forest candle bridge mirror"
).split()


def sort_task(n: int, seed: int = 0):
    """Chat examples: sort 6-9 words (about 64 tokens each with the tiny tokenizer)."""
    from tuneahead.data.example import Example, Message

    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.sample(WORDS, rng.randint(6, 9))
        out.append(
            Example(
                id=f"sort:{i}",
                source_format="messages",
                messages=(
                    Message("user", "Sort these words: " + " ".join(words)),
                    Message("assistant", " ".join(sorted(words))),
                ),
            )
        )
    return out


def bare_loop(model, batches, recipe) -> float:
    """Forward, backward, clip, step: the same math as the probe without any measurement."""
    import torch
    import torch.nn.functional as F
    from transformers import get_scheduler

    model.train()
    opt = torch.optim.AdamW(
        model.parameters(), lr=recipe.learning_rate, betas=(recipe.adam_beta1, recipe.adam_beta2)
    )
    sched = get_scheduler(recipe.lr_scheduler, opt, num_warmup_steps=0, num_training_steps=len(batches))
    started = time.perf_counter()
    for step in batches:
        denom = max(step.loss_tokens, 1)
        for mb in step.micro:
            logits = model(input_ids=mb.input_ids, attention_mask=mb.attention_mask).logits[:, :-1]
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), mb.labels[:, 1:].reshape(-1), reduction="sum"
            )
            (loss / denom).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def tiny_benchmark(steps: int, threads: int, repeats: int) -> None:
    import torch

    from tuneahead.models.loading import load_model
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.model import AdapterConfig, Recipe

    imported = time.perf_counter()
    torch.set_num_threads(threads)
    recipe = Recipe(
        base_model="tiny-1m",
        adapter=AdapterConfig(type="full"),
        learning_rate=1e-3,
        lr_scheduler="constant",
        micro_batch_size=16,
        gradient_accumulation_steps=1,
        max_seq_length=64,
        num_epochs=3,
        seed=0,
    )
    data = sort_task(2000)

    # 1. Cold: the first probe of the process, model load included.
    t0 = time.perf_counter()
    cold = run_probe(recipe, data, steps=steps, threads=threads, return_batches=True)
    cold_wall = time.perf_counter() - t0
    print(
        f"tiny-1m ({sum(p.numel() for p in load_model('tiny-1m').model.parameters()) / 1e6:.2f} M params), "
        f"full fine-tune, {steps} steps of {recipe.micro_batch_size} x <= {recipe.max_seq_length} tokens, "
        f"{threads} threads"
    )
    print(f"  process start-up (python + torch/transformers imports): {imported - STARTED:.1f} s")
    print(f"  probe incl. model load ({cold.load_seconds:.1f} s): {cold_wall:.1f} s   [goal <= 15 s]")
    print(
        f"  first loss {cold.trace[0].loss:.3f} -> last {cold.trace[-1].loss:.3f}; "
        f"held-out {cold.eval_points[0].loss:.3f} -> {cold.eval_points[-1].loss:.3f}"
    )

    # 1b. The command line, cold: a new process (imports, model load, probe, JSON output).
    print(f"  `tuneahead probe --steps {steps}` as a new process: {cli_wall(data, steps, threads):.1f} s")

    # 2. Overhead: same model and batches, alternating, best of `repeats` (wall and CPU time).
    loaded = load_model("tiny-1m")
    batches = cold.batches
    bare, bare_cpu, probe_steps, probe_whole, probe_cpu = [], [], [], [], []
    for _ in range(repeats):
        c0 = time.process_time()
        bare.append(bare_loop(copy.deepcopy(loaded.model), batches, recipe))
        bare_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        warm = run_probe(recipe, data, steps=steps, threads=threads, model=loaded)
        probe_whole.append(time.perf_counter() - t0)
        probe_cpu.append(time.process_time() - c0)
        probe_steps.append(sum(r.seconds for r in warm.trace))
    b, s, w = min(bare), min(probe_steps), min(probe_whole)
    bc, wc = min(bare_cpu), min(probe_cpu)
    print(f"  bare loop: {b:.2f} s ({1000 * b / steps:.0f} ms/step); CPU time {bc:.2f} s")
    print(f"  probe, training steps only: {s:.2f} s -> overhead {100 * (s / b - 1):+.1f} % (best runs)")
    print(
        f"  probe, whole call (data prep, 3 held-out evals, features; model given): {w:.2f} s "
        f"-> overhead {100 * (w / b - 1):+.1f} %; CPU time {wc:.2f} s -> {100 * (wc / bc - 1):+.1f} %"
    )
    print(
        f"  runs (s): bare {', '.join(f'{x:.2f}' for x in bare)}; probe steps "
        f"{', '.join(f'{x:.2f}' for x in probe_steps)}; "
        f"probe whole {', '.join(f'{x:.2f}' for x in probe_whole)}"
    )
    # Medians too: on a shared machine the best run flatters both sides alike, the median shows the spread.
    mb, ms, mw = statistics.median(bare), statistics.median(probe_steps), statistics.median(probe_whole)
    print(
        f"  medians: bare {mb:.2f} s; probe steps {ms:.2f} s ({100 * (ms / mb - 1):+.1f} %, goal <= 5 %); "
        f"probe whole {mw:.2f} s ({100 * (mw / mb - 1):+.1f} %, goal <= 10 %)"
    )


def cli_wall(data, steps: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.jsonl"
        with train.open("w") as fh:
            for ex in data:
                fh.write(
                    json.dumps({"messages": [{"role": m.role, "content": m.content} for m in ex.messages]})
                )
                fh.write("\n")
        recipe = Path(tmp) / "recipe.yaml"
        recipe.write_text(
            "base_model: tiny-1m\nadapter: {type: full}\nlearning_rate: 1.0e-3\nlr_scheduler: constant\n"
            "micro_batch_size: 16\nmax_seq_length: 64\nnum_epochs: 3\nseed: 0\n"
            "datasets: [{path: train.jsonl}]\n"
        )
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tuneahead.cli",
                "probe",
                "-r",
                str(recipe),
                "--steps",
                str(steps),
                "--threads",
                str(threads),
                "--json",
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"tuneahead probe failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall


def smollm2_benchmark(threads: int) -> None:
    from tuneahead.data.load import load_examples
    from tuneahead.probe.engine import run_probe
    from tuneahead.recipe.model import AdapterConfig, Recipe

    folder = Path(str(resources.files("tuneahead") / "assets" / "examples"))
    train, _ = load_examples(folder / "example_train.jsonl")
    evals, _ = load_examples(folder / "example_eval.jsonl")
    recipe = Recipe(
        base_model="smollm2-135m",
        adapter=AdapterConfig(
            type="lora", rank=8, alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]
        ),
        learning_rate=2e-4,
        lr_scheduler="cosine",
        warmup_ratio=0.03,
        micro_batch_size=4,
        gradient_accumulation_steps=1,
        max_seq_length=128,
        num_epochs=3,
        seed=0,
    )
    t0 = time.perf_counter()
    result = run_probe(recipe, train, evals, steps=20, threads=threads, eval_size=16)
    wall = time.perf_counter() - t0
    f = result.features
    print(f"smollm2-135m, LoRA r=8, 20 steps of 4 x <= 128 tokens, {threads} threads")
    print(
        f"  wall {wall:.1f} s (model load {result.load_seconds:.1f} s; "
        f"{f['probe_seconds_per_step']:.2f} s/step)"
    )
    keys = (
        "probe_initial_loss",
        "probe_final_loss",
        "probe_loss_drop_rel",
        "probe_grad_norm_mean",
        "probe_update_ratio",
        "probe_eval_loss_start",
        "probe_eval_loss_end",
        "probe_eval_token_accuracy",
    )
    print("  " + json.dumps({k: round(f[k], 4) for k in keys}))
    print(
        f"  full run: {result.cost.full_flops:.3g} FLOPs, {result.cost.full_gpu_hours:.3g} H100-hours; "
        f"probe {result.cost.probe_share:.2%} of it"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--smollm2", action="store_true", help="also run the SmolLM2-135M LoRA probe (minutes)"
    )
    args = parser.parse_args()
    tiny_benchmark(args.steps, args.threads, args.repeats)
    if args.smollm2:
        smollm2_benchmark(args.threads)


if __name__ == "__main__":
    sys.exit(main())
