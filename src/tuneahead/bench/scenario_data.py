"""The rows of one TuneBench scenario: clean hidden test, eval set, and a training set with problems planted.

Every random choice comes from its own named stream seeded by the scenario seed, so changing one knob
(say, the label-noise share) leaves every other row as it was: two scenarios that differ in one knob
differ in their files only where that knob acts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tuneahead.bench.tasks import TaskFamily, chat_row, get_family, is_labelled, sample_unique
from tuneahead.bench.tasks.base import FILLER, WORDS

CONTEXT_PREFIX = "Context: "

# Tags on training rows (kept in memory for tests and analysis, never written to the data files).
NOISY, DUPLICATE, LEAKED, MIXTURE, LONG = "noisy", "duplicate", "leaked", "mixture", "long_context"


@dataclass(frozen=True)
class DataPlan:
    """What the data of a scenario looks like. Shares are of training rows unless said otherwise."""

    n_train: int  # training rows before leaked eval rows are added
    n_eval: int
    n_test: int
    system_prompt: str | None = None
    label_noise: float = 0.0  # target-family rows whose answer is wrong
    duplicate_share: float = 0.0  # rows that are exact copies of other training rows
    eval_leak_share: float = 0.0  # share of *eval* rows copied into train (added on top of n_train)
    majority_label: str | None = None  # labelled families: the over-represented answer in train and eval
    majority_share: float | None = None  # its share; None = balanced
    long_context_share: float = 0.0  # rows (in every split) with a distractor context before the task
    context_words: tuple[int, int] = (0, 0)  # min / max words of that context (each word >= 1 token)
    mixture_share: float = 1.0  # target-family share of the unique training rows
    mixture_families: tuple[str, ...] = ()
    mixture_difficulties: tuple[dict[str, Any], ...] = ()
    token_p95: int = (
        0  # 95th percentile of rendered row length in tokens, distractor contexts aside (0: unknown)
    )

    @property
    def n_leaked(self) -> int:
        return round(self.eval_leak_share * self.n_eval)

    @property
    def n_train_rows(self) -> int:
        """Rows in train.jsonl."""
        return self.n_train + self.n_leaked

    def label_weights(self, labels: tuple[str, ...]) -> dict[str, float] | None:
        if self.majority_label is None or self.majority_share is None:
            return None
        rest = (1.0 - self.majority_share) / max(1, len(labels) - 1)
        return {label: self.majority_share if label == self.majority_label else rest for label in labels}


@dataclass
class Splits:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    test: list[dict[str, Any]]
    train_tags: list[frozenset[str]] = field(default_factory=list)  # parallel to `train`


def stream(seed: int, name: str) -> random.Random:
    """An independent random stream for one purpose (str seeds hash with SHA-512: stable across runs)."""
    return random.Random(f"tunebench:{seed}:{name}")


def build_splits(family: TaskFamily | str, difficulty: dict[str, Any], plan: DataPlan, seed: int) -> Splits:
    """Generate the three splits of a scenario. Deterministic for its arguments.

    The test set is clean and balanced; eval and train prompts are disjoint from it and from each
    other (before leakage); the label skew applies to train and eval alike (a random split of the
    same skewed source), while the hidden test measures the task as it is.
    """
    fam = get_family(family) if isinstance(family, str) else family
    labels = fam.labels(difficulty) if is_labelled(fam) else None  # type: ignore[attr-defined]
    weights = plan.label_weights(labels) if labels else None

    test = sample_unique(fam, difficulty, plan.n_test, stream(seed, "test"))
    seen = {p for p, _ in test}
    evals = sample_unique(fam, difficulty, plan.n_eval, stream(seed, "eval"), seen, label_weights=weights)
    seen |= {p for p, _ in evals}

    n_copies = round(plan.duplicate_share * plan.n_train)
    n_unique = plan.n_train - n_copies
    n_target = max(1, round(plan.mixture_share * n_unique)) if n_unique else 0
    target = sample_unique(fam, difficulty, n_target, stream(seed, "train"), seen, label_weights=weights)

    answers = _plant_noise(fam, difficulty, target, plan.label_noise, stream(seed, "noise"))
    unique = [
        (p, a, frozenset({NOISY}) if a != orig else frozenset()) for (p, orig), a in zip(target, answers)
    ]
    unique += _mixture_rows(plan, n_unique - n_target, seed)

    unique_rows = _with_context(unique, plan, stream(seed, "long:train"))
    test_rows = [
        r for r, _ in _with_context([(p, a, frozenset()) for p, a in test], plan, stream(seed, "long:test"))
    ]
    eval_rows = [
        r for r, _ in _with_context([(p, a, frozenset()) for p, a in evals], plan, stream(seed, "long:eval"))
    ]

    pick = stream(seed, "duplicates")
    copies = [unique_rows[pick.randrange(len(unique_rows))] for _ in range(n_copies)] if unique_rows else []
    leaked = stream(seed, "leak").sample(range(len(eval_rows)), plan.n_leaked)
    train = (
        [(row, tags) for row, tags in unique_rows]
        + [(_copy(row), tags | {DUPLICATE}) for row, tags in copies]
        + [(_copy(eval_rows[i]), frozenset({LEAKED})) for i in leaked]
    )
    stream(seed, "shuffle").shuffle(train)
    return Splits([r for r, _ in train], eval_rows, test_rows, [t for _, t in train])


def _plant_noise(
    fam: TaskFamily,
    difficulty: dict[str, Any],
    pairs: list[tuple[str, str]],
    share: float,
    rng: random.Random,
) -> list[str]:
    """Answers with `share` of them replaced by a wrong one (another label, or another row's answer)."""
    answers = [a for _, a in pairs]
    k = round(share * len(pairs))
    if k == 0:
        return answers
    labels = fam.labels(difficulty) if is_labelled(fam) else None  # type: ignore[attr-defined]
    for i in sorted(rng.sample(range(len(pairs)), k)):
        true = fam.normalize_answer(answers[i])
        if labels:
            answers[i] = rng.choice([x for x in labels if fam.normalize_answer(x) != true])
            continue
        # A misaligned join: the answer of another row (what real label noise mostly looks like).
        wrong = answers[i]
        for _ in range(20):
            wrong = pairs[rng.randrange(len(pairs))][1]
            if fam.normalize_answer(wrong) != true:
                break
        if fam.normalize_answer(wrong) == true:
            wrong = answers[i] + answers[i][-1:]  # every row agrees: make it wrong by one character
        answers[i] = wrong
    return answers


def _mixture_rows(plan: DataPlan, n: int, seed: int) -> list[tuple[str, str, frozenset[str]]]:
    if n <= 0 or not plan.mixture_families:
        return []
    out: list[tuple[str, str, frozenset[str]]] = []
    k = len(plan.mixture_families)
    for j, (name, diff) in enumerate(zip(plan.mixture_families, plan.mixture_difficulties)):
        share = n // k + (1 if j < n % k else 0)
        pairs = sample_unique(get_family(name), diff, share, stream(seed, f"mixture:{name}"))
        out += [(p, a, frozenset({MIXTURE})) for p, a in pairs]
    return out


def _with_context(
    rows: list[tuple[str, str, frozenset[str]]], plan: DataPlan, rng: random.Random
) -> list[tuple[dict[str, Any], frozenset[str]]]:
    """Chat rows; `long_context_share` of them get a distractor context before the task."""
    k = round(plan.long_context_share * len(rows))
    chosen = set(rng.sample(range(len(rows)), k)) if k else set()
    low, high = plan.context_words
    out = []
    for i, (prompt, answer, tags) in enumerate(rows):
        if i in chosen:
            words = [
                rng.choice(WORDS) if rng.random() < 0.7 else rng.choice(FILLER)
                for _ in range(rng.randint(low, high))
            ]
            prompt = f"{CONTEXT_PREFIX}{' '.join(words)}\n{prompt}"
            tags = tags | {LONG}
        out.append((chat_row(prompt, answer, plan.system_prompt), tags))
    return out


def _copy(row: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [dict(m) for m in row["messages"]]}


def core_prompt(row: dict[str, Any]) -> str:
    """The task prompt of a row without any distractor context (what split disjointness is about)."""
    prompt = next(m["content"] for m in row["messages"] if m["role"] == "user")
    if prompt.startswith(CONTEXT_PREFIX):
        return prompt.split("\n", 1)[1]
    return prompt
