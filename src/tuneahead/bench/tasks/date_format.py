"""Date conversion: "Convert 2023-04-17 to DD/MM/YYYY." -> "17/04/2023"; hardest: the weekday."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_YEARS = {"narrow": (2000, 2029), "medium": (1950, 2049), "wide": (1800, 2199)}


class DateFormat(Family):
    name = "date_format"
    description = "rewrite an ISO date (day-first, month-first, in words) or name its weekday"
    knobs = knob_table(target=("dmy", "mdy", "words", "weekday"), years=("narrow", "medium", "wide"))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        first, last = _YEARS[d["years"]]
        start = dt.date(first, 1, 1).toordinal()
        day = dt.date.fromordinal(rng.randint(start, dt.date(last, 12, 31).toordinal()))
        iso = day.isoformat()
        target = d["target"]
        if target == "dmy":
            return f"Convert {iso} to DD/MM/YYYY.", day.strftime("%d/%m/%Y")
        if target == "mdy":
            return f"Convert {iso} to MM/DD/YYYY.", day.strftime("%m/%d/%Y")
        if target == "words":
            return f"Write {iso} in words.", f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"
        return f"What day of the week is {iso}?", _DAYS[day.weekday()]
