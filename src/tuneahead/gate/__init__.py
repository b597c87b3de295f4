"""The gate: `check(recipe, data, target=...) -> Verdict` (GO / NO-GO / UNCERTAIN) before a fine-tune runs."""

from tuneahead.gate.run import StageResult, Verdict, check
from tuneahead.gate.policy import Decision, Policy
from tuneahead.gate.target import Target, parse_target

__all__ = ["Decision", "Policy", "StageResult", "Target", "Verdict", "check", "parse_target"]
