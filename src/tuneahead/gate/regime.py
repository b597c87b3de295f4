"""The predictability regime of a run: what kind of evidence decided its verdict, or why none could.

After the Risk-Decomposition framing (ICML 2026): a run is *static-sufficient* when its data and recipe
already settle the verdict, *dynamic-critical* when the probe's measurements do (these are the runs a
longer, adaptive probe is for), and *noise-dominant* when even the longer probe leaves it undecided: its
outcome at this bar is close to a coin toss, so UNCERTAIN is the honest answer, not a missing measurement.

Measured held out by family on the pooled TuneBench corpus (`benchmarks/regime_errors.py`, 540 runs,
seed 0): static-sufficient 22 % of runs (P on the wrong side of 0.5 for 23 %, Brier 0.180),
dynamic-critical 50 % (29 %, 0.178), noise-dominant 27 % (37 %, 0.257).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tuneahead.features.row import feature_info

UNDECIDED = "UNCERTAIN"


@dataclass(frozen=True)
class Regime:
    name: str  # "static-sufficient", "dynamic-critical", "noise-dominant" or "undetermined"
    static_share: float  # share of the explanation's |SHAP| carried by data and recipe features
    why: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "static_share": self.static_share, "why": self.why}


def static_share(contributions: Mapping[str, float], features: Mapping[str, float]) -> float:
    """|contribution| of data and recipe features over that of every feature of the run (the bar, which is
    an input of the success model but not a feature of the run, left out); NaN without contributions."""
    parts = {name: abs(value) for name, value in contributions.items() if name in features}
    total = sum(parts.values())
    if total <= 0:
        return float("nan")
    return sum(v for name, v in parts.items() if feature_info(name).role != "dynamic") / total


def read_regime(stage_decisions: Sequence[str], contributions: Mapping[str, float],
                features: Mapping[str, float]) -> Regime:
    """The regime from each probe stage's decision (first the default probe, then any longer one) and the
    SHAP values that explain the verdict."""
    share = static_share(contributions, features)
    first, last = stage_decisions[0], stage_decisions[-1]
    if first != UNDECIDED:
        if share >= 0.5:
            return Regime("static-sufficient", share,
                          f"the data and the recipe carry {share:.0%} of the evidence for this verdict")
        return Regime("dynamic-critical", share,
                      f"the probe's measurements carry {1 - share:.0%} of the evidence for this verdict")
    if last != UNDECIDED:
        return Regime("dynamic-critical", share, "the default probe left it open; the longer probe decided")
    if len(stage_decisions) > 1:
        return Regime("noise-dominant", share, "still open after the longer probe: at this bar, runs like this "
                      "one succeed or fail about as often, whatever is measured before the run")
    return Regime("undetermined", share, "open after the default probe, and no longer probe was run (adaptive "
                  "probing off, out of budget, or none in the predictor bundle): a longer probe may decide it")
