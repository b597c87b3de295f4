"""The bar a fine-tune must clear, as a user writes it: `exact_match>=0.8`, `>=80%`, `0.8`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tuneahead.errors import InputError, Location

_BARE_METRIC = re.compile(r"^\s*[A-Za-z_][\w.\-]*\s*$")
_TARGET = re.compile(r"^\s*(?:(?P<metric>[A-Za-z_][\w.\-]*)\s*)?(?P<op>>=|≥|=>)?\s*(?P<value>[-+]?\d*\.?\d+)\s*(?P<pct>%)?\s*$")


@dataclass(frozen=True)
class Target:
    """Success means the final `metric` is at least `value` (metrics in [0, 1])."""

    metric: str | None
    value: float

    def __str__(self) -> str:
        return f"{self.metric or 'metric'} >= {self.value:g}"


def parse_target(text: str, *, option: str = "--target") -> Target:
    """`exact_match>=0.8`, `>=0.8`, `0.8` or `80%`; a bare number above 1 is read as a percentage."""
    m = _TARGET.match(text or "")
    if m is None and _BARE_METRIC.match(text or ""):
        # `--target exact_match>=0.8` unquoted: the shell took `>=0.8` as "redirect stdout to the file =0.8".
        raise InputError(
            f"the target {text!r} has no bar: the shell probably read '>=' as a redirect (and wrote a file "
            "named '=...')",
            Location(field=option.lstrip("-")),
            hint=f"quote it: {option} '{text}>=0.8'",
        )
    if m is None:
        raise InputError(
            f"cannot read the target {text!r}",
            Location(field=option.lstrip("-")),
            hint="write it as METRIC>=VALUE, e.g. 'exact_match>=0.8' (quoted; or just 0.8, or 80%)",
        )
    value = float(m.group("value"))
    if m.group("pct") or value > 1.0:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise InputError(
            f"target {text!r} is outside 0-100 %", Location(field=option.lstrip("-")),
            hint="targets are accuracies or scores between 0 and 1 (or 0 and 100 %)",
        )
    return Target(m.group("metric"), value)
