"""`TuneAheadCallback`: the gate inside a user's `transformers.Trainer` / TRL `SFTTrainer`.

    gate = TuneAheadCallback.attach(trainer, target="exact_match>=0.8", mode="stop", store="runs.db")
    trainer.train()
    gate.verdict            # what the gate said at the end of its probe window

The first steps of the real run are the probe: `probe.live.LiveProbe` records the same trace as
`tuneahead probe` (loss, gradient norms before clipping, update/weight ratios, gradient noise,
held-out loss and answer accuracy at the probe's eval points) and the same feature code turns it into
features; at the end of the window the same assessment as `tuneahead check` gives P(success), a
forecast and a verdict. Afterwards, at each of the trainer's evaluations that logs the target metric,
the metric's learning curve is projected to the end of the run (the early-stop baseline's curve
families), and past 10 / 20 / 30 % of the run the live predictor re-forecasts from the pre-flight
features plus that curve. Everything is logged into the trainer's log history (`tuneahead/...` keys)
so it reaches TensorBoard / MLflow / W&B through the trainer's own reporting.

`mode="warn"` only reports; `mode="stop"` sets `control.should_training_stop` when the probe diverges
(non-finite loss or gradients, or a loss that climbs to the no-information level), when the verdict
at the end of the window is NO-GO, or when the live predictor's verdict has been NO-GO `patience` times
in a row. The callback never changes the training itself: it reads the loss, the gradients and the
weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainerCallback

from tuneahead.errors import InputError, Location
from tuneahead.gate.target import Target
from tuneahead.paths import PathLike

LOG_PREFIX = "tuneahead/"
MODES = ("warn", "stop")


@dataclass
class LiveVerdict:
    """What the gate said at the end of its probe window (and why)."""

    step: int
    decision: str  # "GO", "NO-GO", "UNCERTAIN"
    p_success: float
    forecast: float
    interval: tuple[float, float]
    why: str
    rule: str | None
    reasons: list[str]
    findings: list[str]
    out_of_distribution: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "interval": list(self.interval)}


class TuneAheadCallback(TrainerCallback):
    """Watch a real fine-tune: probe features from its first steps, a verdict, then live re-forecasts."""

    def __init__(
        self,
        target: Target | str | float,
        *,
        predictor: PathLike | None = None,
        mode: str = "warn",
        metric: str | None = None,
        probe_steps: int | None = None,
        eval_dataset: Sequence[Mapping[str, Any]] | None = None,
        eval_size: int | None = None,
        eval_points: int | None = None,
        measure_every: int | None = None,
        data: Sequence[PathLike] | PathLike | None = None,
        eval_data: Sequence[PathLike] | PathLike | None = None,
        cost_ratio: float | None = None,
        live_predictor: PathLike | None = None,
        patience: int = 1,
        store: PathLike | None = None,
        task: str | None = None,
    ) -> None:
        """`target`: what the run must reach ("exact_match>=0.8", or 0.8).
        `metric`: the logged evaluation metric that measures it (default: "eval_" + the target's metric);
        the live re-forecasts and the recorded outcome read it.
        `probe_steps`: the probe window (default: as `tuneahead check` sizes a probe, from the run's length).
        `eval_dataset`: held-out rows for the probe's evaluations (`attach` takes the trainer's).
        `data` / `eval_data`: the raw training / eval files, for the static descriptors (without them, the
        trainer's own rows when they hold text, as TRL's do; else the verdict says it has none).
        `live_predictor`: the live gate's predictor bundle (default: the bundled one, fitted on TuneBench):
        at 10 / 20 / 30 % of the run it re-forecasts from the pre-flight features plus the `metric` curve
        so far.
        `patience`: in stop mode, how many live NO-GOs in a row stop the run (default 1; replayed on TuneBench
        held out by family in benchmarks/replay_live_gate.py).
        `store`: a run store (SQLite) that receives the run when training ends.
        """
        from tuneahead.gate.config import CheckConfig
        from tuneahead.gate.run import parse_goal
        from tuneahead.probe.config import EVAL_POINTS, EVAL_SIZE, MEASURE_EVERY

        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", Location(field="mode"))
        self.goal = parse_goal(target)
        self.predictor_ref = predictor
        self.live_predictor_ref = live_predictor
        self.mode = mode
        self.metric = metric or (f"eval_{self.goal.metric}" if self.goal.metric else None)
        self.probe_steps_wanted = probe_steps
        self.eval_rows = eval_dataset
        self.eval_size = eval_size or EVAL_SIZE
        self.eval_points = eval_points or EVAL_POINTS
        self.measure_every = measure_every or MEASURE_EVERY
        self.data, self.eval_data = data, eval_data
        self.config = CheckConfig.build(cost_ratio=cost_ratio) if cost_ratio is not None else CheckConfig()
        if patience < 1:
            raise InputError(f"patience must be at least 1, got {patience}", Location(field="patience"))
        self.patience = patience
        self._live_no_go = 0  # live NO-GOs in a row
        self.store = store
        self.task = task
        self.trainer: Any = None
        # Filled in as the run goes.
        self.recipe: Any = None
        self.notes: list[str] = []
        self.verdict: LiveVerdict | None = None
        self.stopped: str | None = None  # why the callback stopped the run, if it did
        self.live_forecasts: list[dict[str, float]] = []
        self._live: Any = None
        self._hook: Any = None
        self._probe_steps = 0
        self._eval_at: set[int] = set()
        self._eval_batches: list[Any] = []
        self._descriptors: dict[str, float] = {}
        self._static_findings: list[Any] = []
        self._bundle: Any = None
        self._curve: Any = None  # the metric curve so far (a LiveStopRule that never stops), once the length is known
        self._live_bundle: Any = None  # the live gate's predictors, one per fraction of the run
        self._live_done: set[str] = set()  # live stages already judged
        self.features: dict[str, float] = {}
        self._micro = 0
        self._started = 0.0

    @classmethod
    def attach(cls, trainer: Any, target: Target | str | float, **options: Any) -> TuneAheadCallback:
        """Make a callback for `trainer` (its eval dataset included) and add it to the trainer."""
        if options.get("eval_dataset") is None and getattr(trainer, "eval_dataset", None) is not None:
            evals = trainer.eval_dataset
            options["eval_dataset"] = next(iter(evals.values())) if isinstance(evals, Mapping) else evals
        callback = cls(target, **options)
        callback.trainer = trainer
        trainer.add_callback(callback)
        return callback

    # ------------------------------------------------------------------ before the first step

    def on_train_begin(self, args, state, control, model=None, processing_class=None, train_dataloader=None, **kwargs):
        from tuneahead.gate.bundle import bundled_live_predictor_dir, load_bundle
        from tuneahead.gate.run import check_metric
        from tuneahead.baselines.live_rule import LiveStopRule
        from tuneahead.integrations.trainer_describe import describe_for_trainer, first_rows
        from tuneahead.integrations.trainer_recipe import recipe_from_trainer
        from tuneahead.probe.live import LiveProbe, probe_window

        self._started = time.perf_counter()
        train_rows = first_rows(getattr(train_dataloader, "dataset", None))
        self.recipe, notes = recipe_from_trainer(args, model, processing_class, train_rows)
        self.notes += notes
        self._bundle = load_bundle(self.predictor_ref)
        check_metric(self.goal, self._bundle)
        described = describe_for_trainer(self.recipe, data=self.data, eval_data=self.eval_data,
                                         train_rows=getattr(self.trainer, "train_dataset", None),
                                         eval_rows=self.eval_rows, tokenizer=processing_class)
        self._descriptors, self._static_findings = described.descriptors, described.findings
        self.notes += described.notes
        total = int(state.max_steps or 0)
        self._probe_steps = probe_window(total, self.probe_steps_wanted)
        if total > 0 and self.metric:
            self._curve = LiveStopRule(self.goal.value, total, patience=0)  # projects the curve; never stops the run
            self._live_bundle = load_bundle(self.live_predictor_ref or bundled_live_predictor_dir())
        trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        config = getattr(model, "config", None)
        self._live = LiveProbe(trainable, max_grad_norm=args.max_grad_norm, measure_every=self.measure_every,
                               vocab_size=getattr(config, "vocab_size", None),
                               last_micro_batch=_sync_step_reader(self.trainer))
        self._live.install_hooks()
        self._hook = model.register_forward_hook(self._on_forward, with_kwargs=True)
        self._prepare_evals(model, args, train_dataloader)
        if 0 in self._eval_at:
            self._evaluate(model, 0)
        if self.mode == "stop" and self._blocking_rule() is not None:
            self._stop(control, state, self._blocking_rule() or "")
        return control

    def _blocking_rule(self) -> str | None:
        """A rule that decides NO-GO before any step: no training answer fits max_seq_length whole."""
        from tuneahead.gate.assess import no_whole_answer

        if no_whole_answer(self._descriptors, self.goal.metric or self._bundle.metric):
            return "no training answer fits max_seq_length whole: the run cannot learn to end an answer"
        return None

    def _prepare_evals(self, model, args, train_dataloader) -> None:
        from tuneahead.integrations.trainer_batches import held_out_batches
        from tuneahead.probe.plan import eval_schedule

        collate = getattr(train_dataloader, "collate_fn", None)
        if self.eval_rows is None or collate is None:
            self.notes.append("no eval dataset: the probe's held-out features are missing")
            return
        rows = [self.eval_rows[i] for i in range(min(self.eval_size, len(self.eval_rows)))]
        micro = int(getattr(args, "per_device_eval_batch_size", 8) or 8)
        try:
            self._eval_batches = held_out_batches(rows, collate, micro)
        except Exception as exc:  # the user's collator, on rows it may not expect: a note, never their crash
            self.notes.append(f"the trainer's collator could not batch the eval rows ({exc}): no held-out features")
            return
        self._eval_at = set(eval_schedule(self._probe_steps, self.eval_points))

    # ------------------------------------------------------------------ the probe window

    def _recording(self) -> bool:
        return self._live is not None and len(self._live.trace) < self._probe_steps

    def _on_forward(self, module, args, kwargs, output) -> None:
        from tuneahead.integrations.trainer_batches import read_forward

        if not module.training or not self._stepping():
            return
        reading = read_forward(kwargs, output)
        if reading is not None:
            self._live.add_micro_batch(loss_sum=reading.loss_sum, loss_tokens=reading.loss_tokens,
                                       tokens=reading.tokens, correct=reading.correct, answer=reading.answer)
            self._micro += 1

    def on_step_begin(self, args, state, control, **kwargs):
        if self._recording():
            self._micro = 0
            self._live.start_step(state.global_step + 1)
        return control

    def _stepping(self) -> bool:
        """Inside a probe-window step the probe saw begin (a resumed run may enter mid-step: skip that one)."""
        return self._recording() and self._live.in_step

    def on_substep_end(self, args, state, control, **kwargs):
        if self._stepping() and self._micro == 1:
            self._live.after_first_micro_batch()
        return control

    def on_pre_optimizer_step(self, args, state, control, lr_scheduler=None, optimizer=None, **kwargs):
        if self._stepping():
            self._live.before_update(_current_lr(lr_scheduler, optimizer))
        return control

    def on_optimizer_step(self, args, state, control, **kwargs):
        if self._stepping():
            record = self._live.after_update()
            if record.nonfinite:
                self._diverged(state, control, f"non-finite loss or gradients at step {record.step}")
        return control

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self._live is None or self.verdict is not None:
            return control
        done = len(self._live.trace)
        if done in self._eval_at and done > 0:
            self._evaluate(model, done)
        if done >= self._probe_steps or state.global_step >= state.max_steps:
            self._finish_probe(state, control)
        return control

    def _evaluate(self, model, step: int) -> None:
        from tuneahead.probe.forward import evaluate_held_out

        if not self._eval_batches:
            return
        device = str(next(model.parameters()).device)
        try:
            point = evaluate_held_out(model, self._eval_batches, step, device=device, precision=self.recipe.precision)
        except RuntimeError as exc:  # e.g. out of memory beside the training state: stop measuring, keep training
            self.notes.append(f"held-out evaluation at step {step} failed ({exc}): no more held-out points")
            self._eval_batches = []
            return
        self._live.add_eval(point)

    def _finish_probe(self, state, control) -> None:
        from tuneahead.features.row import feature_row
        from tuneahead.gate.assess import assess, no_whole_answer
        from tuneahead.gate.recipe_space import outside_space
        from tuneahead.probe.findings import probe_findings

        self._live.remove_hooks()
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        probe = self._live.features()
        recipe_json = self.recipe.model_dump(mode="json")
        features = feature_row(recipe=recipe_json, descriptors=self._descriptors, probe=probe)
        found = [*self._static_findings, *probe_findings(probe, self.recipe)]
        stage = self._bundle.stages[0]
        assessed = assess(
            stage.predictor, features, goal=self.goal, config=self.config,
            recipe_reasons=outside_space(recipe_json, self._bundle.info.get("recipe_space")),
            diverged=probe.get("probe_diverged") == 1.0, probe_features=probe,
            no_whole_answer=no_whole_answer(self._descriptors, self.goal.metric or self._bundle.metric),
            findings=found,
        )
        forecast, judgement = assessed.forecast, assessed.judgement
        explained = forecast.p_reasons or forecast.reasons
        self.features = features
        self.verdict = LiveVerdict(
            step=len(self._live.trace),
            decision=judgement.decision.value,
            p_success=float(judgement.p_success),
            forecast=float(forecast.metric),
            interval=(float(forecast.interval[0]), float(forecast.interval[1])),
            why=judgement.why,
            rule=judgement.rule,
            reasons=[f"{r.phrase} → {r.effect}" for r in explained[:5]],
            findings=[f"{f.severity}: {f.title}" for f in found],
            out_of_distribution=bool(forecast.ood),
            notes=list(self.notes),
        )
        self._log(state, {"p_success": self.verdict.p_success, "forecast": self.verdict.forecast,
                          "forecast_low": self.verdict.interval[0], "forecast_high": self.verdict.interval[1]},
                  {"decision": self.verdict.decision, "why": self.verdict.why})
        if self.mode == "stop" and self.verdict.decision == "NO-GO":
            self._stop(control, state, f"NO-GO after the probe window ({self.verdict.why})")

    def _diverged(self, state, control, what: str) -> None:
        self._log(state, {}, {"finding": f"the run diverged: {what}"})
        if self.mode == "stop":
            self._stop(control, state, f"the run diverged: {what}")

    # ------------------------------------------------------------------ after the window: live re-forecasts

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self._curve is None or not metrics or not isinstance(metrics.get(self.metric), int | float):
            return control
        value = float(metrics[self.metric])
        if self.verdict is None:  # inside the probe window: part of the curve, not judged yet
            self._curve.remember(state.global_step, value)
            return control
        projected = self._curve.observe(state.global_step, value)
        share = state.global_step / state.max_steps
        entry = {"step": state.global_step, "share": share, "projected": projected}
        self.live_forecasts.append(entry)
        self._log(state, {"forecast_live": projected, "run_share": share}, {})
        if state.global_step >= state.max_steps:
            return control  # the run is over: nothing left to save
        self._judge_live(state, control, share, entry)
        return control

    def _judge_live(self, state, control, share: float, entry: dict[str, Any]) -> None:
        """At the first evaluation past each fraction of the run the live predictor knows, re-forecast from
        the pre-flight features plus the metric curve so far; a NO-GO there stops the run in stop mode."""
        from tuneahead.baselines.live_gate import live_values
        from tuneahead.gate.assess import assess

        if self._live_bundle is None or not self.features:
            return
        fractions = self._live_bundle.info.get("fractions") or []
        due = [(f, st) for f, st in zip(fractions, self._live_bundle.stages, strict=False)
               if f <= share + 1e-9 and st.name not in self._live_done]
        if not due:
            return
        fraction, stage = due[-1]  # the latest fraction reached: it knows the most
        self._live_done.update(st.name for _, st in due)
        row = {**self.features, **live_values(self._curve.steps, self._curve.values, state.max_steps)}
        assessed = assess(stage.predictor, row, goal=self.goal, config=self.config, diverged=False,
                          probe_features={}, no_whole_answer=False)
        judgement = assessed.judgement
        entry.update({"live_stage": stage.name, "p_success": judgement.p_success,
                      "decision": judgement.decision.value})
        self._log(state, {"p_success_live": judgement.p_success, "forecast_live_metric": assessed.forecast.metric},
                  {"decision_live": f"{judgement.decision.value} at {fraction:.0%} of the run ({judgement.why})"})
        self._live_no_go = self._live_no_go + 1 if judgement.decision.value == "NO-GO" else 0
        if self.mode == "stop" and self._live_no_go >= self.patience:
            self._stop(control, state, f"NO-GO at {fraction:.0%} of the run, from its {self.metric} curve so far "
                       f"({judgement.why})")

    def on_log(self, args, state, control, logs=None, **kwargs):
        # After the window the trainer's own logs show divergence (its loss filter hides NaN losses, not norms).
        if self.verdict is not None and logs and self.stopped is None:
            norm = logs.get("grad_norm")
            if isinstance(norm, float) and not math.isfinite(norm):
                self._diverged(state, control, f"non-finite gradient norm at step {state.global_step}")
        return control

    # ------------------------------------------------------------------ the end

    def on_train_end(self, args, state, control, **kwargs):
        if self._live is not None:
            self._live.remove_hooks()
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if self.store is not None and self._live is not None:
            self.run_id = self._record(state)
        return control

    def _record(self, state) -> str:
        from pathlib import Path

        from tuneahead.integrations.live_record import live_run_record
        from tuneahead.store.sqlite import RunStore

        record = live_run_record(
            recipe=self.recipe, state=state, probe=self._live, descriptors=self._descriptors, metric=self.metric,
            target=self.goal.value, task=self.task, seconds=time.perf_counter() - self._started, stopped=self.stopped,
            extra={"verdict": self.verdict.to_dict() if self.verdict else None, "live_forecasts": self.live_forecasts},
        )
        assert self.store is not None
        with RunStore(Path(self.store)) as runs:
            runs.add_run(record)
        return record.run_id

    # ------------------------------------------------------------------ helpers

    def _stop(self, control, state, why: str) -> None:
        if self.stopped is None:
            self.stopped = why
            self._log(state, {}, {"stopped": why})
        control.should_training_stop = True

    def _log(self, state, numbers: dict[str, float], words: dict[str, str]) -> None:
        """Numbers go through the trainer's own `log` (so reporters see them) when the callback is
        attached; words go into the log history only (reporters want scalars)."""
        numbers = {LOG_PREFIX + k: v for k, v in numbers.items()}
        if numbers and self.trainer is not None:
            self.trainer.log(dict(numbers))
        elif numbers:
            state.log_history.append({**numbers, "step": state.global_step})
        if words:
            state.log_history.append({**{LOG_PREFIX + k: v for k, v in words.items()}, "step": state.global_step})


def _current_lr(scheduler: Any, optimizer: Any) -> float:
    if scheduler is not None and hasattr(scheduler, "get_last_lr"):
        return float(scheduler.get_last_lr()[0])
    if optimizer is not None and optimizer.param_groups:
        return float(optimizer.param_groups[0]["lr"])
    return math.nan


def _sync_step_reader(trainer) -> Callable[[], bool] | None:
    """How to tell, during a backward, that it is the step's last micro-batch: the Trainer sets its
    accelerator's `sync_gradients` before each micro-batch (True on the step's last, also at an epoch's
    short tail). None without a trainer to ask."""
    accelerator = getattr(trainer, "accelerator", None)
    if accelerator is None or not isinstance(getattr(accelerator, "sync_gradients", None), bool):
        return None
    return lambda: bool(accelerator.sync_gradients)
