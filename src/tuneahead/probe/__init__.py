"""The probe: a short simulated fine-tune of the real model that yields dynamic features.

    from tuneahead.probe.engine import run_probe
    result = run_probe(recipe, train_examples, eval_examples, steps=50)
    result.features["probe_loss_drop_rel"], result.trace[-1].loss, result.cost.full_gpu_hours

Layout: `trace` (per-step records, JSONL), `batches` (examples -> padded/packed micro-batches through
the shared renderer), `plan` (held-out split, sampling, full-run size, probe length), `training`
(adapter, optimizer, schedule from the recipe), `instrument` (cheap per-step measurements), `engine`
(the loop, retries, `run_probe`), `features` (dynamic features, pure functions of a trace prefix),
`cost` (FLOPs, budget and money), `findings`. Heavy imports (torch, transformers,
peft) happen inside the modules that need them, never here.
"""
