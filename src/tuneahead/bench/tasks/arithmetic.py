"""Addition and subtraction of k-digit numbers: "What is 347 + 85?" -> "432"."""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table, normalize_number

_PROMPT = "What is {expr}?"


class Arithmetic(Family):
    name = "arithmetic"
    description = "add / subtract k-digit integers; harder with more digits, more operands and subtraction"
    knobs = knob_table(
        digits=(2, 3, 4, 5),  # 1-digit sums have too few distinct prompts for disjoint splits
        operands=(2, 3),
        ops=("add", "add_sub"),
    )

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        low, high = 10 ** (d["digits"] - 1), 10 ** d["digits"] - 1
        values = [rng.randint(low, high) for _ in range(d["operands"])]
        ops = ["+" if d["ops"] == "add" or rng.random() < 0.5 else "-" for _ in values[1:]]
        total = values[0]
        expr = str(values[0])
        for op, v in zip(ops, values[1:]):
            total = total + v if op == "+" else total - v
            expr += f" {op} {v}"
        return _PROMPT.format(expr=expr), str(total)

    def normalize_answer(self, text: str) -> str:
        return normalize_number(text)
