"""What `run_probe` returns, and the events it reports while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tuneahead.data.findings import Finding
from tuneahead.probe.cost import CostEstimate
from tuneahead.probe.trace import EvalPoint, StepRecord


@dataclass(frozen=True)
class ProbeEvent:
    """Progress report: "start" (total known), "step", "eval", "retry" (OOM), "done"."""

    kind: Literal["start", "step", "eval", "retry", "done"]
    total_steps: int
    record: StepRecord | None = None
    eval_point: EvalPoint | None = None
    message: str = ""


@dataclass
class ProbeSetup:
    """How the probe ran (which may differ from the recipe: see notes)."""

    model: str
    model_source: str
    adapter: str
    device: str
    threads: int
    steps_planned: int
    step_choice: str  # why this many steps
    micro_batch_size: int
    gradient_accumulation_steps: int
    sequences_per_step: int
    max_seq_length: int
    packing: bool
    loss_on: str
    optimizer: str
    lr_scheduler: str
    warmup_steps: int
    learning_rate: float
    train_pool_examples: int
    eval_examples: int
    eval_source: str  # "eval set", "split from training data", "none"
    eval_steps: list[int]
    measure_every: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class ProbeResult:
    setup: ProbeSetup
    trace: list[StepRecord]
    eval_points: list[EvalPoint]
    features: dict[str, float]
    cost: CostEstimate
    findings: list[Finding]
    notes: list[str]
    diverged: bool
    interrupted: bool
    seconds: float  # the whole call, model load included
    load_seconds: float
    model: Any = field(default=None, repr=False)  # the trained model, with return_model=True
    batches: list = field(default_factory=list, repr=False)  # StepBatch list as run, with return_batches=True

    @property
    def steps_done(self) -> int:
        return len(self.trace)

    def to_dict(self, *, include_trace: bool = True) -> dict[str, Any]:
        from tuneahead.features.catalogue import spec

        out: dict[str, Any] = {
            "setup": self.setup.to_dict(),
            "steps_done": self.steps_done,
            "diverged": self.diverged,
            "interrupted": self.interrupted,
            "features": {
                name: {"value": value, "unit": spec(name).unit, "group": spec(name).group}
                for name, value in self.features.items()
            },
            "eval_points": [e.to_dict() for e in self.eval_points],
            "cost": self.cost.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            "load_seconds": round(self.load_seconds, 3),
        }
        if include_trace:
            out["trace"] = [r.to_dict() for r in self.trace]
        return out
