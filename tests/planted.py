"""Synthetic chat datasets with planted problems at known rates (test helper, also used by benchmarks)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

_VOCAB_SEED = 1234


def _vocab(n: int = 3000) -> list[str]:
    rng = random.Random(_VOCAB_SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


VOCAB = _vocab()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def chat_row(prompt: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


@dataclass
class Planted:
    """What was planted, as fractions of the training rows (or of the eval rows for leakage)."""

    n_train: int
    exact_dup: float = 0.0
    near_dup: float = 0.0
    eval_leak: float = 0.0  # share of eval rows copied into train
    overlength: float = 0.0  # share of train rows whose answer is far beyond max length
    majority: float | None = None  # share of the majority answer (classification-style answers)


def make_dataset(spec: Planted, *, n_eval: int = 400, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Train and eval rows with the planted problems; clean rows are distinct random sentences."""
    rng = random.Random(seed)
    labels = ["alpha", "beta", "gamma", "delta"]

    def answer() -> str:
        if spec.majority is not None:
            return labels[0] if rng.random() < spec.majority else rng.choice(labels[1:])
        return _sentence(rng, 6)

    def clean() -> dict:
        return chat_row(f"Summarise this note in a few words: {_sentence(rng, 24)}", answer())

    eval_rows = [clean() for _ in range(n_eval)]
    n = spec.n_train
    n_exact, n_near = round(spec.exact_dup * n), round(spec.near_dup * n)
    n_leak, n_long = round(spec.eval_leak * n_eval), round(spec.overlength * n)
    n_clean = n - n_exact - n_near - n_leak - n_long
    base = [clean() for _ in range(n_clean)]
    rows = list(base)
    for _ in range(n_long):
        rows.append(chat_row(f"Write out this list in full: {_sentence(rng, 8)}", _sentence(rng, 400)))
    for i in range(n_leak):
        rows.append(json.loads(json.dumps(eval_rows[i])))
    originals = base[: max(1, n_clean // 2)]
    for _ in range(n_exact):
        rows.append(json.loads(json.dumps(rng.choice(originals))))
    for _ in range(n_near):
        row = json.loads(json.dumps(rng.choice(originals)))
        words = row["messages"][0]["content"].split(" ")
        k = rng.randrange(6, len(words))
        words[k] = rng.choice(VOCAB)  # one word changed: a near duplicate
        row["messages"][0]["content"] = " ".join(words)
        rows.append(row)
    rng.shuffle(rows)
    return rows, eval_rows


def write_jsonl(rows: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path
