"""Plain-language reasons from exact SHAP contributions.

LightGBM's `pred_contrib=True` gives, per run, one contribution per feature plus the base value
(the average forecast); they add up exactly to the forecast. The same holds for the success models'
log-odds (TreeSHAP of the classifier's raw score, or w_j * standardised x_j for the linear one). We
group the contributions by the feature catalogue's group (e.g. all truncation features together), and
describe each group by its strongest feature, its value in the feature's unit, and the group's total
push: in units of the metric for the forecast, as an odds factor for P(success).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tuneahead.features.phrases import phrase as short_name
from tuneahead.features.row import FeatureInfo


@dataclass(frozen=True)
class Reason:
    """One group of features and how far it moves what is explained (the forecast, or P(success)'s log-odds).

    `phrase` says what the run has ("answers cut off: 100 %"), `effect` what that does ("odds ×0.48").
    """

    group: str
    contribution: float
    features: tuple[str, ...]
    phrase: str
    effect: str

    @property
    def text(self) -> str:
        return f"{self.phrase} \u2192 {self.effect}"

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "contribution": self.contribution, "features": list(self.features),
                "text": self.text}


def format_value(value: float, unit: str) -> str:
    """A feature value the way a person reads it, e.g. 0.32 share → '32 %', 256 tokens → '256 tokens'."""
    if value is None or not math.isfinite(value):
        return "missing"
    u = unit.lower()
    if u in {"share", "fraction", "rate"}:
        return f"{value * 100:.0f} %" if abs(value) >= 0.01 or value == 0 else f"{value * 100:.2g} %"
    if u == "bool":
        return "yes" if value >= 0.5 else "no"
    if u in _COUNTED and float(value).is_integer():
        return f"{int(value):,}" + ("" if u in {"count", "rank"} else f" {u}")
    text = f"{value:.3g}"
    return f"{text} {unit}" if u in _COUNTED else text


# Units read as "<number> <unit>"; others (ratio, log10, perplexity, …) are clear from the meaning.
_COUNTED = frozenset({"count", "steps", "tokens", "examples", "params", "sequences", "epochs", "rank"})


ContributionUnit = Literal["metric", "log-odds"]


def format_contribution(c: float, unit: ContributionUnit = "metric") -> str:
    """A push on the forecast (+0.12) or, for log-odds, the factor it puts on the odds of success, in words
    ("raises the odds ×1.6", "lowers the odds ×0.5")."""
    if unit == "log-odds":
        factor = math.exp(c)
        verb = "raises" if c > 0 else "lowers"
        return f"{verb} the odds \u00d7{factor:.2g}" if factor < 10 else f"{verb} the odds \u00d7{factor:.0f}"
    sign = "+" if c >= 0 else "\u2212"
    return f"{sign}{abs(c):.2g}" if abs(c) < 0.01 else f"{sign}{abs(c):.2f}"



def compared(value: float, typical: float | None, unit: str) -> str:
    """How a value compares with what runs that succeeded had, in words ("" when there is nothing to say)."""
    if typical is None or not math.isfinite(typical) or value is None or not math.isfinite(value):
        return ""
    if unit.lower() == "bool":
        usual = "yes" if typical >= 0.5 else "no"
        return f"most runs that succeeded: {usual}"
    spread = max(abs(typical), abs(value), 1e-12)
    if abs(value - typical) <= 0.05 * spread:
        return "about what runs that succeeded had"
    side = "more" if value > typical else "less"
    return f"{side} than most runs that succeeded ({format_value(typical, unit)})"


def reasons(
    infos: Sequence[FeatureInfo],
    values: np.ndarray,
    contributions: np.ndarray,
    *,
    top: int = 5,
    min_share: float = 0.02,
    unit: ContributionUnit = "metric",
    typical: Mapping[str, float] | None = None,
) -> list[Reason]:
    """The `top` groups by |total contribution|, dropping groups below `min_share` of the total movement.

    `unit`: what the contributions are in, "metric" (the forecast) or "log-odds" (P(success)). `typical`:
    each feature's median among training runs that succeeded, which the phrase compares the value with."""
    groups: dict[str, list[int]] = {}
    for j, info in enumerate(infos):
        groups.setdefault(_group_label(info), []).append(j)
    total_abs = float(np.abs(contributions).sum()) or 1.0
    out: list[Reason] = []
    for group, idx in groups.items():
        c = float(contributions[idx].sum())
        if abs(c) < min_share * total_abs:
            continue
        order = sorted(idx, key=lambda j: -abs(contributions[j]))
        lead = infos[order[0]]
        value = float(values[order[0]])
        phrase = f"{short_name(lead.name, lead.meaning)}: {format_value(value, lead.unit)}"
        comparison = compared(value, (typical or {}).get(lead.name), lead.unit)
        if comparison:
            phrase += f", {comparison}"
        others = [j for j in order[1:] if abs(contributions[j]) >= min_share * total_abs]
        if others:  # named in words; the JSON lists every feature of the group
            names = [short_name(infos[j].name, infos[j].name) for j in others[:2]]
            phrase += f" (with {', '.join(names)}{' …' if len(others) > 2 else ''})"
        out.append(
            Reason(group, c, tuple(infos[j].name for j in order), phrase, format_contribution(c, unit))
        )
    out.sort(key=lambda r: -abs(r.contribution))
    return out[:top]


def _group_label(info: FeatureInfo) -> str:
    """Probe groups are kept apart from static ones of the same name (probe "loss" vs loss masking)."""
    if info.role == "dynamic" and info.group != info.name and not info.group.startswith("probe"):
        return f"probe {info.group}"
    return info.group


def global_importance(names: Sequence[str], contributions: np.ndarray) -> list[tuple[str, float]]:
    """Mean |SHAP| per feature over a set of runs, largest first (`contributions` without the bias column)."""
    imp = np.abs(contributions).mean(axis=0)
    return sorted(((n, float(v)) for n, v in zip(names, imp, strict=True)), key=lambda kv: -kv[1])
