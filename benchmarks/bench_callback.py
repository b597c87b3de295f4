"""Per-step overhead of TuneAheadCallback inside a real Trainer run, as a ratio to the same run without it.

    python benchmarks/bench_callback.py [--model tiny-1m] [--steps 60] [--repeats 5]

Three arms, alternated and repeated (medians, model load excluded): no callback; the callback with the
whole run as its probe window (every step instrumented: the worst case); the callback with its default
window (as `check` sizes a probe). Two figures per arm:

- per step: the optimizer steps inside the default window (its first steps), timed from the trainer's
  step begin to step end by a timer callback that every arm carries, so the held-out evaluations and the
  verdict at the window's end are left out (issue 20's budget: <= 5 %);
- whole run: the training loop's wall time, evaluations, set-up and verdict included (budget: <= 10 %).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test helpers build the same data


def rows(tiny, n: int):
    from tests.test_probe_engine import recipe, sort_examples
    from tuneahead.data.render import resolve_template
    from tuneahead.probe.batches import Renderer, collate

    r = recipe(max_seq_length=64)
    renderer = Renderer(tiny.bundle, resolve_template(tiny.bundle, None), r.loss_on, r.max_seq_length, r.packing)
    data = sort_examples(n)
    pad = int(tiny.bundle.pad_id if tiny.bundle.pad_id is not None else tiny.bundle.eos_id)
    out = []
    for s in renderer.sequences(data, renderer.tokenize(data)):
        mb = collate([s], pad)
        out.append({"input_ids": mb.input_ids[0], "attention_mask": mb.attention_mask[0], "labels": mb.labels[0]})
    return out, pad


def _step_timer(upto: int):
    """A callback timing optimizer steps 1..upto (begin to end of each step)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds = 0.0
            self._began = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step <= upto:
                self.seconds += time.perf_counter() - self._began

    return StepTimer()


def run(tiny, data, evals, pad, steps: int, window: int | None, use_callback: bool,
        timed_steps: int = 0) -> tuple[float, float]:
    """(wall time of the training loop, seconds of optimizer steps 1..timed_steps)."""
    from transformers import Trainer, TrainingArguments

    from tests.test_live_callback import _padding_collator
    from tuneahead.integrations import TuneAheadCallback

    args = TrainingArguments(output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=8,
                             gradient_accumulation_steps=2, learning_rate=1e-3, save_strategy="no", report_to=[],
                             use_cpu=True, seed=7, disable_tqdm=True, logging_steps=10)
    trainer = Trainer(model=copy.deepcopy(tiny.model), args=args, train_dataset=data, eval_dataset=evals,
                      data_collator=_padding_collator(pad))
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the log lines would bury the figures
    timer = _step_timer(timed_steps)
    trainer.add_callback(timer)  # before TuneAhead's: its step end (evaluations, verdict) falls outside the timing
    if use_callback:
        TuneAheadCallback.attach(trainer, target=0.5, probe_steps=window)
    started = time.perf_counter()
    trainer.train()
    return time.perf_counter() - started, timer.seconds


def main() -> None:
    from tuneahead.models.loading import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-1m")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    opts = parser.parse_args()
    torch.set_num_threads(1)
    tiny = load_model(opts.model)
    data, pad = rows(tiny, 1200)
    evals = data[-32:]
    arms = {"bare": (None, False), "callback, every step probed": (opts.steps, True),
            "callback, default window": (None, True)}
    from tuneahead.probe.live import probe_window

    window = probe_window(opts.steps)
    walls: dict[str, list[float]] = {name: [] for name in arms}
    steps: dict[str, list[float]] = {name: [] for name in arms}
    run(tiny, data, evals, pad, 5, None, True)  # warm-up (imports, bundle load)
    for _ in range(opts.repeats):
        for name, (probe_steps, on) in arms.items():
            wall, in_window = run(tiny, data, evals, pad, opts.steps, probe_steps, on, timed_steps=window)
            walls[name].append(wall)
            steps[name].append(in_window)
    bare_wall, bare_steps = statistics.median(walls["bare"]), statistics.median(steps["bare"])
    print(f"{opts.model}, {opts.steps} steps of 2 x 8 sequences, 1 thread, median of {opts.repeats}; "
          f"default window: the first {window} steps")
    print(f"{'':30s} {'steps 1-' + str(window):>22s}   {'whole run':>22s}")
    for name in arms:
        s_med, w_med = statistics.median(steps[name]), statistics.median(walls[name])
        print(f"{name:30s} {s_med:7.3f} s ({100 * (s_med / bare_steps - 1):+5.1f} %)   "
              f"{w_med:7.2f} s ({100 * (w_med / bare_wall - 1):+5.1f} %)")
    print("budget (issue 20): per step <= +5 %, whole run <= +10 %")


if __name__ == "__main__":
    main()
