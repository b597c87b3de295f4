"""From a calibrated P(success) to GO / NO-GO / UNCERTAIN.

GO when P(success) >= `go_at`, NO-GO when it is <= `no_go_at`, UNCERTAIN in between. The cut-offs follow
the user's stakes (`Policy.for_stakes`: a cost ratio, set on the predictor's training runs, see
`predict.cutoffs`) unless the user fixes them. When the run
lies outside the predictor's training data, the forecast is extrapolated, so confidence is halved
(P is pulled half-way towards 0.5) and the verdict is never a bare GO.

Three rules make a NO-GO whatever the predictor says (`Judgement.rule` names the one that did):
- a probe that diverged (NaN or inf loss; the full run uses the same learning rate);
- a probe in which no step had a token to learn from (every answer masked or cut off: the full run
  would train on nothing);
- for an exact-match target, data in which no training answer fits the context window whole (the
  fine-tune never sees how an answer ends, so it cannot learn to produce one, and exact match scores
  only whole answers).

A finding of severity "error" (answers cut off by max_length, a learning rate far out of range, ...)
also rules out a GO: the verdict stays UNCERTAIN until it is fixed, whatever P(success) says, since a
gate should not wave through a run with a known defect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from tuneahead.errors import ExitCode, InputError, Location
from tuneahead.predict.cutoffs import CutOffs

OOD_SHRINK = 0.5  # how much of P's distance from 0.5 survives outside the training data


class Decision(str, Enum):
    GO = "GO"
    NO_GO = "NO-GO"
    UNCERTAIN = "UNCERTAIN"

    @property
    def exit_code(self) -> int:
        return {Decision.GO: ExitCode.OK, Decision.NO_GO: ExitCode.NO_GO, Decision.UNCERTAIN: ExitCode.UNCERTAIN}[self]


@dataclass(frozen=True)
class Policy:
    """The cut-offs. `go_at` may be +inf and `no_go_at` -inf: that verdict is not given (no cut-off kept
    its promise on the training runs); `cut_offs` records how stakes-based cut-offs were set."""

    go_at: float = 0.7
    no_go_at: float = 0.3
    cut_offs: CutOffs | None = None

    def __post_init__(self) -> None:
        go_ok = 0.0 <= self.go_at <= 1.0 or self.go_at == math.inf
        no_go_ok = 0.0 <= self.no_go_at <= 1.0 or self.no_go_at == -math.inf
        if not (go_ok and no_go_ok and self.no_go_at < self.go_at):
            raise InputError(f"need 0 <= no_go_at < go_at <= 1, got {self.no_go_at} and {self.go_at}",
                             Location(field="go-at/no-go-at"))

    @classmethod
    def for_stakes(cls, cut_offs: CutOffs, *, go_at: float | None = None, no_go_at: float | None = None) -> Policy:
        """The stakes' cut-offs, with either one replaced by a value the user fixed."""
        fixed = go_at is not None or no_go_at is not None
        return cls(
            go_at=cut_offs.go_at if go_at is None else go_at,
            no_go_at=cut_offs.no_go_at if no_go_at is None else no_go_at,
            cut_offs=replace(cut_offs, basis=f"{cut_offs.basis}; fixed by the user where given") if fixed else cut_offs,
        )

    def describe(self) -> dict[str, Any]:
        """The cut-offs a verdict used, for its report (None: that verdict is not given)."""
        finite = {"go_at": self.go_at if math.isfinite(self.go_at) else None,
                  "no_go_at": self.no_go_at if math.isfinite(self.no_go_at) else None}
        if self.cut_offs is None:
            return {**finite, "basis": "fixed by the user"}
        return {**self.cut_offs.to_dict(), **finite}


@dataclass(frozen=True)
class Judgement:
    decision: Decision
    p_success: float  # after the out-of-distribution adjustment
    p_model: float  # what the predictor said
    why: str
    blocked_by: tuple[str, ...] = ()  # error findings that turned a GO into UNCERTAIN
    rule: str | None = None  # the rule that decided NO-GO whatever P(success) said, if one did


def judge(
    p_success: float | None,
    *,
    ood: bool,
    diverged: bool,
    nothing_to_learn: bool = False,
    no_whole_answer: bool = False,
    error_findings: Sequence[str] = (),
    policy: Policy = Policy(),
) -> Judgement:
    """`error_findings`: codes of the check's findings of severity "error"; any of them rules out a GO."""
    rules = {
        "diverged": (diverged, "the probe diverged (non-finite loss or gradients)"),
        "nothing_to_learn": (nothing_to_learn, "no probe step had a token to learn from (answers masked out or cut off)"),
        "no_whole_answer": (no_whole_answer, "no training answer fits max_seq_length whole: the fine-tune never learns "
                            "how an answer ends, and exact match scores only whole answers"),
    }
    rule = next((name for name, (applies, _) in rules.items() if applies), None)
    if rule is not None:
        cap = policy.no_go_at if math.isfinite(policy.no_go_at) else 1.0
        p = 0.0 if p_success is None or not math.isfinite(p_success) else min(p_success, cap)
        return Judgement(Decision.NO_GO, p, p_success if p_success is not None else math.nan, rules[rule][1],
                         rule=rule)
    if p_success is None or not math.isfinite(p_success):
        return Judgement(Decision.UNCERTAIN, math.nan, math.nan, "the predictor gave no probability of success")
    p = 0.5 + (p_success - 0.5) * OOD_SHRINK if ood else p_success
    if p >= policy.go_at and not ood and error_findings:
        codes = tuple(dict.fromkeys(error_findings))
        return Judgement(Decision.UNCERTAIN, p, p_success,
                         f"P(success) {p:.0%} >= {policy.go_at:.0%}, but fix first: {', '.join(codes)}", codes)
    if p >= policy.go_at and not ood:
        return Judgement(Decision.GO, p, p_success, f"P(success) {p:.0%} >= {policy.go_at:.0%}")
    if p <= policy.no_go_at:
        return Judgement(Decision.NO_GO, p, p_success, f"P(success) {p:.0%} <= {policy.no_go_at:.0%}")
    if ood and p >= policy.go_at:
        return Judgement(Decision.UNCERTAIN, p, p_success, "likely to succeed, but outside the predictor's training data")
    return Judgement(Decision.UNCERTAIN, p, p_success, f"P(success) {p:.0%} is {_band(policy)}")


def _band(policy: Policy) -> str:
    """Where an UNCERTAIN P lies, in words (a cut-off that is never reached is said so)."""
    if math.isinf(policy.go_at) and math.isinf(policy.no_go_at):
        return "not enough to decide: on the training runs no cut-off kept a GO or a NO-GO as sure as the stakes ask"
    if math.isinf(policy.go_at):
        return f"above {policy.no_go_at:.0%}, and no P gave a GO as sure as the stakes ask on the training runs"
    if math.isinf(policy.no_go_at):
        return f"below {policy.go_at:.0%}, and no P gave a NO-GO as sure as the stakes ask on the training runs"
    return f"between {policy.no_go_at:.0%} and {policy.go_at:.0%}"
