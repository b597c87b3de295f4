"""Modular sum: "What is (47 + 18) mod 7?" -> "2": a rule with no visible shortcut in the answer's form.

Meant as a late learner: the answer is one short label, but nothing in the prompt's surface points at it.
Measured, the zoo never learns it: tiny-1m stays at chance even at the easiest setting (mod 2) after 1,500
steps on 2,000 rows, so in TuneBench it is a task beyond the model whose probe shows no progress at all.
The labels are the residues, so a class skew can be planted.
"""

from __future__ import annotations

import random
from typing import Any

from tuneahead.bench.tasks.base import Family, knob_table


class ModularSum(Family):
    name = "modular_sum"
    description = "(a + b) mod m; harder with a larger modulus and longer operands"
    knobs = knob_table(modulus=(2, 3, 5, 7, 11), digits=(2, 3, 4))  # 2 digits: 10,000 prompts

    def _labels(self, d: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(r) for r in range(d["modulus"]))

    def _sample_label(self, rng: random.Random, d: dict[str, Any], label: str) -> tuple[str, str]:
        m, top = d["modulus"], 10 ** d["digits"] - 1
        a = rng.randint(0, top)
        # b runs over every value with the wanted residue, so each operand stays uniform in its range.
        first = (int(label) - a) % m
        b = rng.randrange(first, top + 1, m) if first <= top else first
        return f"What is ({a} + {b}) mod {m}?", label
