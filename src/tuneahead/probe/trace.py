"""What a probe records: one `StepRecord` per optimizer step and an `EvalPoint` per held-out measurement.

Records hold plain numbers (no tensors) so a trace can be written as JSONL, read back, and fed to
`features_from_trace` to recompute the features of any shorter probe from a longer one's trace.
A value that was not measured on a step (the costlier measurements run every few steps) is NaN.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tuneahead.errors import DataError, Location
from tuneahead.features.catalogue import NAN

TRACE_VERSION = 1


@dataclass(slots=True)
class StepRecord:
    step: int  # 1-based optimizer step
    lr: float  # learning rate this step's update used
    loss: float  # token-mean training loss of the step's batch, before the update
    grad_norm: float  # total gradient norm before clipping
    clipped: bool  # the norm exceeded max_grad_norm and was scaled down
    tokens: int  # non-padding tokens processed
    loss_tokens: int  # tokens that carry loss
    seconds: float  # wall time of the step (forward, backward, clip, update, measurements)
    micro_batches: int
    completion_tokens: int = 0  # answer tokens seen (for token accuracy, whatever the loss setting)
    correct_tokens: int = 0  # answer tokens the model predicted right (argmax), before the update
    grad_norm_first: float = NAN  # gradient norm of the first transformer block's trainable weights
    grad_norm_last: float = NAN  # ... and of the last block's
    nonfinite: bool = False  # loss or gradient was NaN/inf; the update was skipped and the probe stopped
    # Measured every few steps (NaN otherwise):
    param_norm_before: float = NAN  # norm of the trainable weights before the update
    param_norm: float = NAN  # ... and after it
    update_norm: float = NAN  # norm of the update itself
    grad_sq_small: float = NAN  # |g|² of the token-mean gradient of the first part of the batch
    grad_sq_big: float = NAN  # |g|² of the token-mean gradient of the whole batch
    batch_small: float = NAN  # tokens behind grad_sq_small
    batch_big: float = NAN  # tokens behind grad_sq_big
    grad_cosine: float = NAN  # cosine between the gradients of the two parts of the batch

    @property
    def update_ratio(self) -> float:
        if not self.param_norm_before > 0:
            return NAN
        return self.update_norm / self.param_norm_before

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class EvalPoint:
    step: int  # optimizer steps done when measured (0 = before training)
    loss: float  # token-mean loss on the held-out sample
    token_accuracy: float  # share of held-out answer tokens predicted right (argmax)
    loss_tokens: int
    completion_tokens: int
    seconds: float
    # Share of held-out answers whose every visible token is the argmax given the right prefix: exactly the
    # answers greedy decoding would reproduce (NaN in traces recorded before it was measured).
    sequence_accuracy: float = math.nan
    extra: dict[str, float] = field(default_factory=dict)  # numbers from a run_probe `on_eval` hook

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _from_dict(cls: type, row: dict[str, Any], where: Location) -> Any:
    names = {f.name for f in fields(cls)}
    kwargs = {k: _unclean(v) for k, v in row.items() if k in names}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise DataError(f"not a probe trace record: {exc}", where) from None


def _unclean(value: Any) -> Any:
    if value is None:
        return NAN
    if isinstance(value, dict):
        return {k: _unclean(v) for k, v in value.items()}
    return value


def _clean(value: Any) -> Any:
    # Strict JSON: NaN/inf become null (read back as NaN).
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def write_trace(
    path: str | Path,
    trace: list[StepRecord],
    eval_points: list[EvalPoint],
    meta: dict[str, Any] | None = None,
) -> None:
    """Write a trace as JSONL: a header line, then one line per step and per eval point."""
    lines = [json.dumps({"type": "probe_trace", "version": TRACE_VERSION, **(meta or {})}, default=str)]
    lines += [json.dumps({"type": "step", **{k: _clean(v) for k, v in r.to_dict().items()}}) for r in trace]
    lines += [
        json.dumps({"type": "eval", **{k: _clean(v) for k, v in e.to_dict().items()}}) for e in eval_points
    ]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_trace(path: str | Path) -> tuple[list[StepRecord], list[EvalPoint], dict[str, Any]]:
    """Read a trace written by `write_trace`: (steps, eval points, header)."""
    path = Path(path)
    trace: list[StepRecord] = []
    evals: list[EvalPoint] = []
    meta: dict[str, Any] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read probe trace: {exc}", Location(file=str(path))) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = Location(file=str(path), line=number)
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", where) from None
        kind = row.pop("type", None) if isinstance(row, dict) else None
        if kind == "step":
            trace.append(_from_dict(StepRecord, row, where))
        elif kind == "eval":
            evals.append(_from_dict(EvalPoint, row, where))
        elif kind == "probe_trace":
            if row.get("version") != TRACE_VERSION:
                raise DataError(f"unsupported probe trace version {row.get('version')!r}", where)
            meta = row
        else:
            raise DataError("not a probe trace line (expected type step, eval or probe_trace)", where)
    return trace, evals, meta
