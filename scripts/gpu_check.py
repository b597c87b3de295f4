"""The device check: what only an accelerator can show, in one short run (issue 17's GPU items).

    python scripts/gpu_check.py --device cuda --out DIR     # on a machine with a GPU
    python scripts/gpu_check.py --device cpu --out DIR      # the same steps on a CPU, to try the script

1. `TuneAheadCallback` inside a real `transformers.Trainer` run of the pretrained `tiny-4m` zoo model on
   the bundled ticket-routing data, in bf16 on the device: the probe window's features, the verdict, the
   run's speed with and without the callback.
2. `tuneahead probe --device DEVICE` on the bundled demo recipe (the CUDA path of the probe engine).

Everything it measures goes to DIR/gpu_check.json; it prints a short summary.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "src" / "tuneahead" / "assets" / "examples"


def trainer_rows(model_name: str, max_len: int):
    """The bundled training and eval examples rendered as the probe renders them (token ids + labels)."""
    from tuneahead.data.load import load_examples
    from tuneahead.data.render import resolve_template
    from tuneahead.models.loading import load_model
    from tuneahead.probe.batches import Renderer, collate

    loaded = load_model(model_name)
    bundle = loaded.bundle
    renderer = Renderer(bundle, resolve_template(bundle, None), "completion", max_len, False)
    pad = int(bundle.pad_id if bundle.pad_id is not None else bundle.eos_id)

    def rows(path: Path) -> list[dict]:
        examples, _ = load_examples(path)
        out = []
        for s in renderer.sequences(examples, renderer.tokenize(examples)):
            mb = collate([s], pad)
            out.append({"input_ids": mb.input_ids[0], "attention_mask": mb.attention_mask[0], "labels": mb.labels[0]})
        return out

    return loaded, rows(EXAMPLES / "example_train.jsonl"), rows(EXAMPLES / "example_eval.jsonl"), pad


def collator(pad_id: int):
    import torch

    def collate_rows(rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        return {key: torch.stack([torch.nn.functional.pad(r[key], (0, width - len(r[key])), value=fill) for r in rows])
                for key, fill in (("input_ids", pad_id), ("attention_mask", 0), ("labels", -100))}
    return collate_rows


def trainer_run(loaded, train, evals, pad: int, device: str, steps: int, with_callback: bool) -> dict:
    import copy

    from transformers import Trainer, TrainingArguments

    from tuneahead.integrations import TuneAheadCallback

    cuda = device.startswith("cuda")
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=16, gradient_accumulation_steps=2,
        learning_rate=1e-3, lr_scheduler_type="cosine", warmup_steps=0.05, bf16=cuda, use_cpu=not cuda,
        logging_steps=10, save_strategy="no", report_to=[], seed=42, disable_tqdm=True,
        eval_strategy="steps", eval_steps=max(1, steps // 5), per_device_eval_batch_size=32,
    )
    trainer = Trainer(model=copy.deepcopy(loaded.model), args=args, train_dataset=train, eval_dataset=evals,
                      data_collator=collator(pad))
    gate = TuneAheadCallback.attach(trainer, target="exact_match>=0.8") if with_callback else None
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    out: dict = {"seconds": seconds, "steps": trainer.state.global_step}
    if gate is not None and gate.verdict is not None:
        out["verdict"] = gate.verdict.to_dict()
        out["probe_features"] = {k: v for k, v in gate.features.items() if k.startswith("probe_")}
        out["nonfinite_features"] = sorted(k for k, v in out["probe_features"].items() if not math.isfinite(v))
    return out


def probe_cli(device: str, out_dir: Path) -> dict:
    trace = out_dir / "probe_trace.jsonl"
    command = [sys.executable, "-m", "tuneahead.cli", "probe", "--recipe", str(EXAMPLES / "demo_recipe_tiny.yaml"),
               "--device", device, "--json", "--trace", str(trace)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    result: dict = {"exit_code": done.returncode, "seconds": time.perf_counter() - started,
                    "stderr_tail": done.stderr[-2000:]}
    if done.returncode == 0:
        probe = json.loads(done.stdout)
        result["features"] = probe.get("features")
        result["notes"] = probe.get("notes")
        result["setup"] = probe.get("setup")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--model", default="tiny-4m")
    opts = parser.parse_args()
    import torch
    import transformers

    out_dir = Path(opts.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"python": platform.python_version(), "torch": torch.__version__,
                    "transformers": transformers.__version__, "device": opts.device,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    loaded, train, evals, pad = trainer_rows(opts.model, 128)
    trainer_run(loaded, train, evals, pad, opts.device, 5, True)  # warm-up: kernels, imports, the bundle
    bare = trainer_run(loaded, train, evals, pad, opts.device, opts.steps, False)
    watched = trainer_run(loaded, train, evals, pad, opts.device, opts.steps, True)
    report["trainer"] = {"bare": bare, "with_callback": watched,
                         "overhead": watched["seconds"] / bare["seconds"] - 1 if bare["seconds"] else None}
    report["probe_cli"] = probe_cli(opts.device, out_dir)
    (out_dir / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    verdict = watched.get("verdict") or {}
    print(f"device {opts.device} ({report['gpu']}), torch {report['torch']}, transformers {report['transformers']}")
    print(f"Trainer, {opts.model}, {opts.steps} steps: bare {bare['seconds']:.1f} s, with the callback "
          f"{watched['seconds']:.1f} s ({report['trainer']['overhead']:+.1%})")
    print(f"verdict at step {verdict.get('step')}: {verdict.get('decision')} P {verdict.get('p_success')} "
          f"({verdict.get('why')}); non-finite probe features: {watched.get('nonfinite_features')}")
    probe = report["probe_cli"]
    print(f"tuneahead probe --device {opts.device}: exit {probe['exit_code']} in {probe['seconds']:.1f} s")
    if probe["exit_code"] != 0:
        print(probe["stderr_tail"])


if __name__ == "__main__":
    main()
