"""Pretrain the built-in tiny models and write their weights into the package assets.

Resumable (checkpoints under --work-dir); run it in the background:

    nohup python scripts/pretrain_zoo.py > pretrain.log 2>&1 &

Writes src/tuneahead/assets/models/<name>/model.safetensors (fp16) and pretrain.json (validation
loss before/after, corpus, settings). Committed once so nobody has to retrain.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tuneahead.bench.pretrain import PretrainConfig, pretrain
from tuneahead.models.zoo import tiny_weights_folder

# Steps per model: sized so the whole zoo pretrains in well under an hour on 2 CPU cores.
DEFAULT_STEPS = {"tiny-0.2m": 1500, "tiny-1m": 1500, "tiny-4m": 1200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_STEPS))
    parser.add_argument("--steps", type=int, default=None, help="override the per-model step count")
    parser.add_argument("--work-dir", type=Path, default=Path("pretrain-work"))
    parser.add_argument("--out", type=Path, default=None, help="output root (default: the package assets)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (use 1 when other jobs share the cores: oversubscription is slow)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    for name in args.models:
        cfg = PretrainConfig(model=name, steps=args.steps or DEFAULT_STEPS[name])
        out = (args.out / name) if args.out else tiny_weights_folder(name)
        report = pretrain(cfg, args.work_dir, out, log=lambda m: print(m, flush=True))
        print(f"{name}: val loss {report['val_loss_initial']:.3f} -> {report['val_loss_final']:.3f}; "
              f"weights in {out}", flush=True)


if __name__ == "__main__":
    main()
