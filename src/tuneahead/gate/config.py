"""Every knob of the check, with its default, its range and its help text, in one validated model.

`check` takes a `CheckConfig` (keyword shortcuts stay in the Python API); the CLI takes its option
defaults and help from here. The probe's own knobs (threads, device, cost accounting) are the probe's
config's fields, so both read one definition. A bad value is an input error naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tuneahead.gate.policy import Policy
from tuneahead.predict.cutoffs import DEFAULT_COST_RATIO, CutOffs, fixed_cut_offs
from tuneahead.probe.config import ProbeConfig, config_error

DEFAULT_MAX_PROBE_SHARE = 0.10  # adaptive probing never takes the check past this share of the full run
_PROBE = ProbeConfig.model_fields


class CheckConfig(BaseModel):
    """How the check decides; the recipe, the data, the target and the predictor are what it judges."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    adaptive: bool = Field(True, description="extend an inconclusive probe (--adaptive/--fixed)")
    max_probe_share: float = Field(DEFAULT_MAX_PROBE_SHARE, gt=0, le=1,
                                   description="adaptive probing stops before this share of the full run's FLOPs")
    cost_ratio: float = Field(
        DEFAULT_COST_RATIO, gt=0,
        description="what stopping a run that would have succeeded costs, in failed full runs (2: a lost "
                    "success hurts twice as much as a wasted run); sets the GO / NO-GO cut-offs",
    )
    go_at: float | None = Field(None, ge=0, le=1,
                                description="GO when P(success) is at least this (default: set by --cost-ratio)")
    no_go_at: float | None = Field(None, ge=0, le=1,
                                   description="NO-GO when P(success) is at most this (default: set by --cost-ratio)")
    data_format: str = Field("auto", description="data format (see `describe --help`)")
    skip_invalid: bool = Field(False, description="count and skip invalid rows")
    threads: int | None = Field(_PROBE["threads"].default, ge=1, description=_PROBE["threads"].description)
    device: str = Field(_PROBE["device"].default, description=_PROBE["device"].description)
    accelerator: str = Field(_PROBE["accelerator"].default, description=_PROBE["accelerator"].description)
    mfu: float | None = Field(_PROBE["mfu"].default, gt=0, le=1, description=_PROBE["mfu"].description)
    usd_per_gpu_hour: float | None = Field(None, ge=0, description=_PROBE["usd_per_gpu_hour"].description)

    @model_validator(mode="after")
    def _thresholds_and_probe(self) -> CheckConfig:
        self.policy(fixed_cut_offs(self.cost_ratio))  # crossed GO / NO-GO thresholds are refused here
        self.probe()  # the probe's knobs are checked by the probe's own config
        return self

    def policy(self, cut_offs: CutOffs) -> Policy:
        """The cut-offs for a predictor's `cut_offs` at this cost ratio, with any the user fixed."""
        return Policy.for_stakes(cut_offs, go_at=self.go_at, no_go_at=self.no_go_at)

    def probe(self, steps: int | None = None) -> ProbeConfig:
        """The probe's config for a stage of this check (`steps`: None for the default length)."""
        return ProbeConfig.build(steps=steps, threads=self.threads, device=self.device, accelerator=self.accelerator,
                                 mfu=self.mfu, usd_per_gpu_hour=self.usd_per_gpu_hour)

    @classmethod
    def build(cls, config: CheckConfig | None = None, **overrides: Any) -> CheckConfig:
        """`config` (default: the defaults) with `overrides` applied; a bad value names its field."""
        try:
            return cls(**{**(config or cls()).model_dump(), **overrides})
        except ValidationError as exc:
            raise config_error(exc) from None
