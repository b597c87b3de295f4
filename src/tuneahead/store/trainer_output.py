"""Runs from a Hugging Face `Trainer` output folder: the history a team already has, as run-store records.

What the folder holds and what becomes of it:

- `trainer_state.json` (written by `Trainer.save_state()` and in every checkpoint): the log history gives
  the training curve (loss, gradient norm, learning rate), the eval curve (`eval_loss` and every
  `eval_<metric>`), the peak learning rate, the steps, epochs and batch size, the FLOPs (`total_flos`)
  and the runtime;
- `config.json` (the model's): its name or path and its size; `adapter_config.json` (PEFT): LoRA's rank,
  alpha, dropout and target modules;
- `all_results.json` / `eval_results.json` / `train_results.json` (the example scripts'): final metrics;
- the run's arguments as JSON or YAML when the team kept them (`training_args.json`, `training_args.yaml`,
  `args.json`, `config.yaml`): gradient accumulation, weight decay, scheduler, warm-up, sequence length.

`training_args.bin` is a pickle: it is never loaded (unpickling runs code), and what only it holds is
reported as not mapped. Everything that could not be mapped is said in `ImportedRun.unmapped`, and the
run id is a digest of the folder's trainer state, so importing the same run twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from tuneahead.errors import InputError, Location
from tuneahead.safe_yaml import safe_load
from tuneahead.store.imported import ImportedRun
from tuneahead.store.sqlite import RunRecord, check_outcome

STATE_FILE = "trainer_state.json"
# LLaMA-Factory's own log (its LogCallback): one JSON object a line, with current_steps / total_steps, loss,
# eval_loss, lr and epoch. A run stopped before `save_state()` leaves only this at the top of its folder.
LLAMAFACTORY_LOG = "trainer_log.jsonl"
RESULT_FILES = ("all_results.json", "eval_results.json", "train_results.json")
ARGUMENT_FILES = ("training_args.json", "training_args.yaml", "training_args.yml", "args.json", "config.yaml")
PICKLED_ARGUMENTS = "training_args.bin"


def _is_run_folder(folder: Path) -> bool:
    """A trainer state or LLaMA-Factory's log at the top, or (a run without a final `save_state()`, as
    Axolotl's output folders often are) checkpoint folders holding trainer states."""
    return ((folder / STATE_FILE).is_file() or (folder / LLAMAFACTORY_LOG).is_file()
            or any(folder.glob(f"checkpoint-*/{STATE_FILE}")))


def find_trainer_outputs(root: str | Path) -> list[Path]:
    """The run folders under `root`: `root` itself when it is one, else its subfolders that are (checkpoints
    inside a run folder are parts of that run, not runs of their own)."""
    root = Path(root)
    if _is_run_folder(root):
        return [root]
    found = sorted(p for p in root.iterdir() if p.is_dir() and _is_run_folder(p)) if root.is_dir() else []
    if not found:
        raise InputError(f"no {STATE_FILE} (or LLaMA-Factory {LLAMAFACTORY_LOG}) here or in a subfolder: "
                         "not a Trainer output folder",
                         Location(file=str(root)),
                         hint="Trainer writes it with trainer.save_state() and in every checkpoint-* folder")
    return found


def _last_checkpoint_state(folder: Path) -> Path | None:
    """The trainer state of the run's last checkpoint (highest step), if any."""
    def step(path: Path) -> int:
        tail = path.parent.name.removeprefix("checkpoint-")
        return int(tail) if tail.isdigit() else -1

    states = sorted(folder.glob(f"checkpoint-*/{STATE_FILE}"), key=step)
    return states[-1] if states else None


def read_trainer_output(
    folder: str | Path, *, metric: str | None = None, target: float | None = None, task: str | None = None
) -> ImportedRun:
    """One run from a Trainer output folder.

    `metric`: the logged metric that is the run's outcome (e.g. "eval_accuracy"; its last value, or the
    results files'); `target`: the bar it had to reach; `task`: the group the run belongs to.
    """
    folder = Path(folder)
    unmapped: list[str] = []
    state_path = folder / STATE_FILE
    checkpoint = _last_checkpoint_state(folder) if not state_path.is_file() and not (folder / LLAMAFACTORY_LOG).is_file() else None
    if checkpoint is not None:
        state_path = checkpoint
        unmapped.append(f"no {STATE_FILE} at the top (no final save_state()): curves from {checkpoint.parent.name}, "
                        "the last checkpoint")
    if state_path.is_file():
        state = _read_json(state_path)
        if not isinstance(state.get("log_history"), list):
            raise InputError("no log_history list: not a Trainer state",
                             Location(file=str(state_path), field="log_history"))
        history = [e for e in state["log_history"] if isinstance(e, dict)]
    else:
        state_path = folder / LLAMAFACTORY_LOG
        state, history = read_llamafactory_log(state_path)
        unmapped.append(f"no {STATE_FILE} (the run stopped before saving it?): curves from {LLAMAFACTORY_LOG}, "
                        "which logs the loss, eval loss and learning rate only")

    model_config = _read_optional_json(folder / "config.json")
    adapter = _read_optional_json(folder / "adapter_config.json")
    arguments, arguments_file = _read_arguments(folder)
    config = _framework_config(folder)
    if arguments_file is None and config is None:
        pickled = (folder / PICKLED_ARGUMENTS).is_file()
        unmapped.append(
            "gradient accumulation, weight decay, scheduler, warm-up and sequence length are unknown: "
            + (f"{PICKLED_ARGUMENTS} is a pickle and is never loaded; " if pickled else "")
            + "save the run's arguments as JSON (trainer.args.to_json_string()) to import them"
        )

    if config is not None:  # the run's own Axolotl config: the framework's reader maps every key it knows
        recipe, arguments_file = _framework_recipe(config, unmapped), config.name
    else:
        recipe = _recipe(state, history, model_config, adapter, arguments,
                         _argument_fields(arguments, folder, arguments_file), unmapped)
    curves = curves_from_log_history(history)
    results = _results(folder)
    final = _final_metric(metric, history, results, unmapped)
    if final is not None:
        check_outcome(final)
    if target is not None and final is None:
        unmapped.append("a target was given but no outcome metric: the run has no success label")
    costs: dict[str, float] = {}
    if isinstance(state.get("total_flos"), int | float) and state["total_flos"] > 0:
        costs["flops_full"] = float(state["total_flos"])
    else:
        unmapped.append("no total_flos in the trainer state: the run's compute is unknown")
    runtime = next((e["train_runtime"] for e in reversed(history) if isinstance(e.get("train_runtime"), int | float)), None)
    if runtime is not None:
        costs["seconds_full"] = float(runtime)
    record = RunRecord(
        run_id="hf-" + hashlib.sha256(state_path.read_bytes()).hexdigest()[:12],
        recipe=recipe,
        curves=curves,
        final_metric=final,
        target=target,
        costs=costs,
        family=task,
        model=str(recipe.get("base_model")),
        model_params=_parameter_count(model_config),
        campaign="imported",
        extra={"imported_from": "hf-trainer" if state_path.name == STATE_FILE else "llamafactory-log",
               "source_folder": folder.name, "outcome_metric": metric,
               "arguments_file": arguments_file, "unmapped": unmapped,
               "global_step": state.get("global_step"), "best_metric": state.get("best_metric")},
    )
    return ImportedRun(record, str(folder), unmapped)


# ---------------------------------------------------------------- pieces


def _framework_config(folder: Path) -> Path | None:
    """An Axolotl config kept in the run folder (any YAML the framework detection calls Axolotl's)."""
    from tuneahead.errors import TuneAheadError
    from tuneahead.recipe.detect import detect_framework

    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        try:
            data = safe_load(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and detect_framework(data, path.name) == "axolotl":
                return path
        except (TuneAheadError, OSError, UnicodeDecodeError):
            continue  # not a config this import can read: the others still may be
    return None


def _framework_recipe(config: Path, unmapped: list[str]) -> dict[str, Any]:
    from tuneahead.recipe.load import load_recipe

    recipe = load_recipe(config, framework="axolotl")
    source = recipe.source
    if source.unsupported_keys:
        unmapped.append(f"{config.name}: keys TuneAhead does not model: {', '.join(source.unsupported_keys)}")
    if source.unknown_keys:
        unmapped.append(f"{config.name}: keys Axolotl does not define: {', '.join(source.unknown_keys)}")
    return recipe.model_dump(mode="json")


def read_llamafactory_log(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """LLaMA-Factory's trainer_log.jsonl as (what a trainer state would say, a Trainer-style log history)."""
    history: list[dict[str, Any]] = []
    total = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", Location(file=str(path), line=number)) from None
        step = entry.get("current_steps") if isinstance(entry, dict) else None
        if not isinstance(step, int):
            raise InputError("a log line without current_steps", Location(file=str(path), line=number, field="current_steps"))
        total = entry.get("total_steps", total)
        if isinstance(entry.get("loss"), int | float):
            history.append({"step": step, "loss": entry["loss"], "learning_rate": entry.get("lr"),
                            "epoch": entry.get("epoch")})
        if isinstance(entry.get("eval_loss"), int | float):
            history.append({"step": step, "eval_loss": entry["eval_loss"], "epoch": entry.get("epoch")})
    state: dict[str, Any] = {"log_history": history}
    if isinstance(total, int) and total > 0:
        state["max_steps"] = total
    return state, history


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Location(file=str(path))) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"not valid JSON: {exc}", Location(file=str(path), line=line)) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", Location(file=str(path)))
    return data


def _read_optional_json(path: Path) -> dict[str, Any]:
    return _read_json(path) if path.is_file() else {}


def _read_arguments(folder: Path) -> tuple[dict[str, Any], str | None]:
    """The run's arguments from the first argument file present (JSON, or YAML read as plain data)."""
    for name in ARGUMENT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if path.suffix == ".json":
            return _read_json(path), name
        data = safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise InputError("expected a mapping of arguments", Location(file=str(path)))
        return data, name
    return {}, None


def _argument_fields(arguments: dict[str, Any], folder: Path, file: str | None) -> dict[str, Any]:
    """Recipe fields from the keys the argument file has (absent keys stay unset)."""
    from tuneahead.recipe._hf import training_argument_fields

    if not arguments or file is None:
        return {}
    path = folder / file
    return training_argument_fields(arguments, path.resolve(), str(path))


def _recipe(state: dict, history: list[dict], model_config: dict, adapter: dict, arguments: dict,
            argument_fields: dict[str, Any], unmapped: list[str]) -> dict[str, Any]:
    """The recipe as JSON (`Recipe.model_dump(mode="json")` keys), from what the folder says."""
    from tuneahead.recipe.model import Recipe

    fields: dict[str, Any] = {}
    base = adapter.get("base_model_name_or_path") or model_config.get("_name_or_path") or arguments.get("model_name_or_path")
    if not base:
        unmapped.append("the base model is not named (no _name_or_path in config.json, no adapter_config.json)")
    fields["base_model"] = str(base or "unknown")
    fields.update(argument_fields)
    # The trainer state says some of it itself: the batch size, the steps, the epochs, the peak learning rate.
    if "micro_batch_size" not in fields and isinstance(state.get("train_batch_size"), int):
        fields["micro_batch_size"] = state["train_batch_size"]
    if "max_steps" not in fields and isinstance(state.get("max_steps"), int) and state["max_steps"] > 0:
        fields["max_steps"] = state["max_steps"]
    if "num_epochs" not in fields and isinstance(state.get("num_train_epochs"), int | float) and state["num_train_epochs"] > 0:
        fields["num_epochs"] = state["num_train_epochs"]
    if "learning_rate" not in fields:
        rates = [e["learning_rate"] for e in history if isinstance(e.get("learning_rate"), int | float)]
        if rates and max(rates) > 0:
            fields["learning_rate"] = float(max(rates))
            unmapped.append("learning rate: the largest logged value (the peak after warm-up), not the argument")
        else:
            unmapped.append("learning rate unknown (none logged, no argument file)")
    if adapter:
        if str(adapter.get("peft_type", "LORA")).upper() != "LORA":
            unmapped.append(f"adapter {adapter.get('peft_type')!r} is not LoRA: recorded as LoRA's nearest settings")
        targets = adapter.get("target_modules")
        fields["adapter"] = {
            "type": "lora", "rank": int(adapter.get("r") or 8), "alpha": float(adapter.get("lora_alpha") or 16),
            "dropout": float(adapter.get("lora_dropout") or 0.0),
            "target_modules": "all-linear" if targets in ("all-linear", None) else sorted(targets),
        }
    else:
        fields["adapter"] = {"type": "full"}
    fields["source"] = {"framework": "python", "notes": ["imported from a Trainer output folder"]}
    try:
        return Recipe(**fields).model_dump(mode="json")
    except ValueError as exc:  # pydantic: a value out of range
        raise InputError(f"the run's settings do not form a recipe: {exc}") from None


def curves_from_log_history(history: list[dict]) -> dict[str, dict[str, list]]:
    """The training and evaluation curves a Trainer log history holds (`full_train`, `full_eval`)."""
    train = [e for e in history if "loss" in e and "step" in e]
    evals = [e for e in history if "eval_loss" in e and "step" in e]
    curves: dict[str, dict[str, list]] = {}
    if train:
        curves["full_train"] = {"step": [int(e["step"]) for e in train], "loss": [_finite(e["loss"]) for e in train],
                                "grad_norm": [_finite(e.get("grad_norm")) for e in train],
                                "learning_rate": [_finite(e.get("learning_rate")) for e in train]}
    if evals:
        curves["full_eval"] = {"step": [int(e["step"]) for e in evals], "loss": [_finite(e["eval_loss"]) for e in evals]}
        names = sorted({k for e in evals for k in e if k.startswith("eval_") and k != "eval_loss"
                        and isinstance(e[k], int | float) and not k.endswith(("_runtime", "_per_second"))})
        for name in names:
            curves["full_eval"][name] = [_finite(e.get(name)) for e in evals]
    return curves


def _results(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in RESULT_FILES:
        out.update({k: v for k, v in _read_optional_json(folder / name).items() if k not in out})
    return out


def _final_metric(metric: str | None, history: list[dict], results: dict[str, Any], unmapped: list[str]) -> float | None:
    if metric is None:
        unmapped.append("no outcome metric named (--metric): the run is imported without a final metric")
        return None
    if isinstance(results.get(metric), int | float):
        return float(results[metric])
    logged = [e[metric] for e in history if isinstance(e.get(metric), int | float)]
    if logged:
        return float(logged[-1])
    unmapped.append(f"metric {metric!r} was never logged and is not in the results files")
    return None


def _parameter_count(model_config: dict) -> float | None:
    """A rough size from the model's config (decoder-only transformer: 12·layers·hidden² + embeddings)."""
    sizes = [model_config.get(k) for k in ("num_hidden_layers", "hidden_size", "vocab_size")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
        return None
    layers, hidden, vocab = (int(v) for v in sizes)  # type: ignore[arg-type]
    return float(12 * layers * hidden**2 + vocab * hidden)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
