"""Every knob of the probe, with its default, its range and its help text, in one validated model.

`run_probe` takes a `ProbeConfig` (keyword shortcuts stay in the Python API), and the CLI takes its
option defaults and help from here, so the library and the command line cannot drift apart. A bad value
is an input error naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tuneahead.errors import InputError, Location
from tuneahead.probe import cost as costs

EVAL_SIZE = 32  # held-out sequences per evaluation: enough for a stable mean loss, cheap to run
EVAL_POINTS = 3  # start, middle, end
MEASURE_EVERY = 5  # the costlier measurements (update ratio, gradient noise) run every k steps


class ProbeConfig(BaseModel):
    """How the probe runs; the recipe says what it trains."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    steps: int | None = Field(None, ge=1, description="probe length in optimizer steps (default: from --budget)")
    budget: float = Field(costs.DEFAULT_BUDGET, gt=0, le=1,
                          description=f"probe cost as a share of the full run's FLOPs (default {costs.DEFAULT_BUDGET:g})")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch (default: all cores)")
    device: str = Field("cpu", description="cpu or cuda")
    seed: int | None = Field(None, description="override the recipe's seed")
    eval_size: int = Field(EVAL_SIZE, ge=1, description="held-out sequences per evaluation")
    eval_points: int = Field(EVAL_POINTS, ge=2, description="held-out evaluations, at the start, the end and between")
    measure_every: int = Field(MEASURE_EVERY, ge=1, description="steps between the costlier measurements")
    accelerator: str = Field(
        costs.DEFAULT_ACCELERATOR,
        description="for GPU-hours: " + " ".join(a.name for a in costs.ACCELERATORS.values()),
    )
    mfu: float | None = Field(None, gt=0, le=1, description="model FLOPs utilisation (default per accelerator)")
    usd_per_gpu_hour: float | None = Field(None, ge=0, description="US$ per GPU-hour, for the cost in money")

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not (value == "cpu" or value == "cuda" or value.startswith("cuda:")):
            raise ValueError(f"unknown device {value!r}; use cpu or cuda")
        return value

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str) -> str:
        costs.accelerator(value)  # an unknown name is an InputError listing the known ones
        return value

    @classmethod
    def build(cls, config: ProbeConfig | None = None, **overrides: Any) -> ProbeConfig:
        """`config` (default: the defaults) with `overrides` applied; a bad value names its field."""
        base = (config or cls()).model_dump()
        try:
            return cls(**{**base, **overrides})
        except ValidationError as exc:
            raise config_error(exc) from None


def config_error(exc: ValidationError) -> InputError:
    """The first problem of a config's validation, as an input error naming the field."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, InputError):  # raised by a validator: keep its own field when the model has none
        where = Location(field=field) if field else cause.location
        return InputError(cause.message, where, hint=cause.hint)
    return InputError(f"{err['msg']} (got {err.get('input')!r})", Location(field=field))


def help_of(model: type[BaseModel], field: str) -> str:
    """The help text of a config field (for the CLI's options)."""
    return model.model_fields[field].description or field


def default_of(model: type[BaseModel], field: str) -> Any:
    return model.model_fields[field].default
