"""TuneBench task families: determinism, answers re-derived independently from prompts, disjoint splits."""

from __future__ import annotations

import calendar
import datetime as dt
import random
import re
from decimal import Decimal

import pytest

from tuneahead.bench.tasks import (
    FAMILIES,
    TaskFamily,
    difficulty_at,
    difficulty_score,
    exact_match,
    get_family,
    is_labelled,
    make_split,
    row_answer,
    row_prompt,
    sample_unique,
)
from tuneahead.bench.tasks.sentiment import NEGATIVE, POSITIVE
from tuneahead.bench.tasks.topic import TOPICS

LEVELS = (0.0, 0.5, 1.0)


# ---------------------------------------------------------------- independent solvers (prompt -> answer)


def _arithmetic(p: str) -> str:
    tokens = p.removeprefix("What is ").removesuffix("?").split()
    total = int(tokens[0])
    for op, value in zip(tokens[1::2], tokens[2::2]):
        total += int(value) if op == "+" else -int(value)
    return str(total)


def _sort(p: str) -> str:
    descending = p.endswith(" (from z to a)")
    words = p.removeprefix("Sort alphabetically: ").removesuffix(" (from z to a)").split(", ")
    return ", ".join(sorted(words, reverse=descending))


def _kv(p: str) -> str:
    context, question = p.rsplit(". What is ", 1)
    return dict(pair.split("=") for pair in context.split(", "))[question.removesuffix("?")]


def _sentiment(p: str) -> str:
    words = p.split("\n")[0].removeprefix("Review: ").split()
    pos, neg = sum(w in POSITIVE for w in words), sum(w in NEGATIVE for w in words)
    return "positive" if pos > neg else "negative" if neg > pos else "neutral"


def _topic(p: str) -> str:
    text, question = p.split("\n")
    words = text.removeprefix("Text: ").split()
    choices = question.removeprefix("Topic (").removesuffix(")?").split(", ")
    counts = {t: sum(w in TOPICS[t] for w in words) for t in choices}
    best = max(counts.values())
    assert list(counts.values()).count(best) == 1, p  # the rule must be unambiguous
    return max(counts, key=counts.get)


def _compare(p: str) -> str:
    m = re.fullmatch(r"Is (\d+) (greater|less) than (\d+)\?", p)
    assert m, p
    x, rel, y = int(m[1]), m[2], int(m[3])
    return "yes" if (x > y if rel == "greater" else x < y) else "no"


def _parity(p: str) -> str:
    number = re.search(r"\d+", p)[0]
    value = sum(map(int, number)) if "digit sum" in p else int(number)
    return "even" if value % 2 == 0 else "odd"


def _date(p: str) -> str:
    day = dt.date.fromisoformat(re.search(r"\d{4}-\d\d-\d\d", p)[0])
    if "DD/MM/YYYY" in p:
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if "MM/DD/YYYY" in p:
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    if "in words" in p:
        return f"{calendar.month_name[day.month]} {day.day}, {day.year}"
    return calendar.day_name[day.weekday()]


def _case(p: str) -> str:
    instruction, text = p.split(": ", 1)
    if instruction == "Write in upper case":
        return text.upper()
    if instruction == "Capitalise each word":
        return " ".join(w[0].upper() + w[1:] for w in text.split())
    if instruction == "Convert to camelCase":
        first, *rest = text.split("_")
        return first + "".join(w[0].upper() + w[1:] for w in rest)
    return re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), text)


def _count(p: str) -> str:
    if p.startswith("How many words"):
        return str(len(p.removeprefix("How many words are in this list: ").removesuffix("?").split()))
    m = re.fullmatch(r"How many times does '(\w+)' appear in:? (.*?)\??", p)
    assert m, p
    target, text = m[1], m[2]
    return str(text.split().count(target) if " " in text else text.count(target))


def _caesar(p: str) -> str:
    m = re.fullmatch(r"Shift each letter forward by (\d+): ([a-z]+)", p)
    return "".join(chr((ord(c) - 97 + int(m[1])) % 26 + 97) for c in m[2])


_EDITS = {
    "reverse": lambda s: s[::-1],
    "uppercase": lambda s: s.upper(),
    "sort the letters": lambda s: "".join(sorted(s, key=str.lower)),
    "drop the first letter": lambda s: s[1:],
    "swap the first and last letters": lambda s: s[-1] + s[1:-1] + s[0] if len(s) > 1 else s,
}


def _compose(p: str) -> str:
    steps, text = p.rsplit(": ", 1)
    for step in steps.split(", then "):
        text = _EDITS[step[0].lower() + step[1:]](text)
    return text


def _kth(p: str) -> str:
    question, text = p.removesuffix("?").split(" in: ")
    words = text.split()
    if "first" in question:
        return words[0]
    if "last" in question:
        return words[-1]
    k = int(re.search(r"\d+", question)[0])
    return words[-k] if "from the end" in question else words[k - 1]


def _next(p: str) -> str:
    terms = [int(x) for x in p.removeprefix("Next number: ").rstrip(",").split(", ")]
    diffs = [b - a for a, b in zip(terms, terms[1:])]  # noqa: RUF007 (itertools.pairwise is 3.10+ only)
    step = diffs[-1] if len(set(diffs)) == 1 else diffs[-2]  # constant, or two alternating steps
    return str(terms[-1] + step)


_FACTORS = {
    ("km", "m"): 1000,
    ("m", "cm"): 100,
    ("cm", "mm"): 10,
    ("kg", "g"): 1000,
    ("l", "ml"): 1000,
    ("m", "mm"): 1000,
    ("g", "mg"): 1000,
    ("h", "min"): 60,
    ("min", "s"): 60,
    ("day", "h"): 24,
    ("week", "day"): 7,
    ("h", "s"): 3600,
    ("day", "min"): 1440,
    ("ft", "in"): 12,
    ("yd", "ft"): 3,
    ("lb", "oz"): 16,
    ("gal", "qt"): 4,
}


def _units(p: str) -> str:
    m = re.fullmatch(r"Convert ([\d.]+) (\w+) to (\w+)\.", p)
    value, a, b = Decimal(m[1]), m[2], m[3]
    result = value * _FACTORS[(a, b)] if (a, b) in _FACTORS else value / _FACTORS[(b, a)]
    return format(result.normalize(), "f")


def _modular(p: str) -> str:
    a, b, m = map(int, re.fullmatch(r"What is \((\d+) \+ (\d+)\) mod (\d+)\?", p).groups())
    return str((a + b) % m)


def _lexicon(p: str) -> str:
    import hashlib

    def code(word: str) -> str:  # the lexicon as its docstring states it
        h = hashlib.sha256(f"tunebench-lexicon:{word}".encode()).digest()
        return "bdfgklmnprstvz"[h[0] % 14] + "aeiou"[h[1] % 5] + "bdfgklmnprstvz"[h[2] % 14]

    return " ".join(code(w) for w in p.removeprefix("Translate to Zarnic: ").split())


def _spell(p: str) -> str:
    return " / ".join(" ".join(w) for w in p.removeprefix("Spell out: ").split())


def _count_up(p: str) -> str:
    start, step, count = map(int, re.fullmatch(r"Count from (\d+) in steps of (\d+), (\d+) numbers\.", p).groups())
    return " ".join(str(start + k * step) for k in range(count))


SOLVERS = {
    "arithmetic": _arithmetic,
    "reverse": lambda p: p.removeprefix("Reverse the letters: ")[::-1],
    "sort_words": _sort,
    "kv_lookup": _kv,
    "sentiment": _sentiment,
    "topic": _topic,
    "compare": _compare,
    "parity": _parity,
    "date_format": _date,
    "case_convert": _case,
    "counting": _count,
    "caesar": _caesar,
    "compose": _compose,
    "kth_word": _kth,
    "next_in_sequence": _next,
    "unit_convert": _units,
    "modular_sum": _modular,
    "lexicon": _lexicon,
    "spell_words": _spell,
    "count_up": _count_up,
}
# Generator v6's long-answer shapes: answers up to ~90 tokens by design.
LONG_ANSWERS = {"spell_words", "count_up"}


# ---------------------------------------------------------------- tests


def test_registry_has_enough_well_formed_families() -> None:
    assert len(FAMILIES) >= 12
    assert set(SOLVERS) == set(FAMILIES)
    for name, family in FAMILIES.items():
        assert isinstance(family, TaskFamily) and family.name == name and get_family(name) is family
        assert family.knobs and all(isinstance(v, tuple) and v for v in family.knobs.values())
    with pytest.raises(KeyError, match="unknown task family"):
        get_family("no_such_family")


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_answers_follow_from_prompts(name: str) -> None:
    """An independent solver re-derives every answer; the family's normaliser agrees with it."""
    family = FAMILIES[name]
    rng = random.Random(11)
    for level in LEVELS:
        for _ in range(3):
            difficulty = difficulty_at(family, level, rng)
            for prompt, answer in sample_unique(family, difficulty, 40, rng):
                expected = SOLVERS[name](prompt)
                assert family.normalize_answer(answer) == family.normalize_answer(expected), (
                    prompt,
                    answer,
                    expected,
                )


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_splits_deterministic_and_disjoint(name: str) -> None:
    family = FAMILIES[name]
    difficulty = difficulty_at(family, 0.5)
    test = make_split(family, difficulty, 100, seed=1)
    assert make_split(name, difficulty, 100, seed=1) == test
    assert make_split(family, difficulty, 100, seed=2) != test
    train = make_split(
        family, difficulty, 400, seed=3, exclude={row_prompt(r) for r in test}, system="Be brief."
    )
    train_prompts = [row_prompt(r) for r in train]
    assert len(set(train_prompts)) == len(train) == 400
    assert not set(train_prompts) & {row_prompt(r) for r in test}
    assert all(r["messages"][0] == {"role": "system", "content": "Be brief."} for r in train)
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in test)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_easiest_and_hardest_settings_fill_large_disjoint_splits(name: str) -> None:
    """The scenario generator asks for up to ~4,700 distinct prompts of one setting."""
    family = FAMILIES[name]
    for level in (0.0, 1.0):
        assert len(sample_unique(family, difficulty_at(family, level), 4800, random.Random(0))) == 4800


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_normalisation_is_exact_match_consistent(name: str) -> None:
    family = FAMILIES[name]
    rng = random.Random(5)
    case_sensitive = getattr(family, "case_sensitive", False)
    for _, answer in sample_unique(family, difficulty_at(family, 0.5), 30, rng):
        norm = family.normalize_answer(answer)
        assert family.normalize_answer(norm) == norm  # idempotent
        assert family.normalize_answer(f"  {answer}\n") == norm  # surrounding whitespace never matters
        flipped = answer.swapcase()
        if flipped != answer:
            assert (family.normalize_answer(flipped) == norm) is not case_sensitive


def test_number_answers_ignore_separators() -> None:
    arithmetic = get_family("arithmetic")
    assert arithmetic.normalize_answer("1,234.") == arithmetic.normalize_answer(" 1234 ") == "1234"
    assert exact_match("arithmetic", "1,234", "1234") and not exact_match(arithmetic, "1234", "1243")
    assert exact_match("sentiment", "Positive.", "positive") and not exact_match("reverse", "ABC", "abc")


def test_difficulty_levels_map_onto_knobs() -> None:
    for family in FAMILIES.values():
        easiest, hardest = difficulty_at(family, 0.0), difficulty_at(family, 1.0)
        assert easiest == {k: v[0] for k, v in family.knobs.items()}
        assert hardest == {k: v[-1] for k, v in family.knobs.items()}
        assert difficulty_score(family, easiest) == 0.0 and difficulty_score(family, hardest) == 1.0
        assert 0.0 < difficulty_score(family, difficulty_at(family, 0.5)) < 1.0
    with pytest.raises(ValueError):
        difficulty_at(get_family("reverse"), 1.5)


def test_bad_difficulty_is_refused_with_the_allowed_values() -> None:
    family = get_family("reverse")
    with pytest.raises(ValueError, match="allowed"):
        family.sample(random.Random(0), {"length": 7})
    with pytest.raises(ValueError, match="no knob 'size'"):
        family.sample(random.Random(0), {"size": 3})


def test_labelled_families_can_be_skewed() -> None:
    labelled = [f for f in FAMILIES.values() if is_labelled(f)]
    assert {f.name for f in labelled} >= {"sentiment", "topic", "compare", "parity"}
    assert not is_labelled(get_family("arithmetic"))
    for family in labelled:
        difficulty = difficulty_at(family, 0.5)
        labels = family.labels(difficulty)
        major = labels[0]
        weights = {label: (0.9 if label == major else 0.1 / (len(labels) - 1)) for label in labels}
        rows = make_split(family, difficulty, 600, seed=4, label_weights=weights)
        share = sum(row_answer(r) == major for r in rows) / len(rows)
        assert share == pytest.approx(0.9, abs=0.04), family.name
        _, answer = family.sample_label(random.Random(1), difficulty, labels[-1])
        assert answer == labels[-1]
    with pytest.raises(ValueError, match="no label set"):
        make_split("arithmetic", {}, 5, seed=0, label_weights={"1": 1.0})


def test_split_fails_loudly_when_the_prompt_space_is_too_small() -> None:
    # 2-digit additions with 2 operands: 8,100 distinct prompts at most.
    with pytest.raises(ValueError, match="prompt space is too small"):
        make_split("arithmetic", {"digits": 2, "operands": 2, "ops": "add"}, 9000, seed=0)


def test_rows_are_short() -> None:
    """Most rows fit 64 tokens of a small BPE: checked in characters (~2-3 per token here)."""
    for family in FAMILIES.values():
        rows = make_split(family, difficulty_at(family, 0.5), 50, seed=9)
        lengths = sorted(len(row_prompt(r)) + len(row_answer(r)) for r in rows)
        assert lengths[len(lengths) // 2] < 160, family.name
        longest_answer = max(len(r["messages"][-1]["content"]) for r in rows)
        assert longest_answer <= (160 if family.name in LONG_ANSWERS else 40), family.name


def test_long_answer_families_answer_at_length() -> None:
    for name in LONG_ANSWERS:
        family = get_family(name)
        rows = make_split(family, difficulty_at(family, 1.0), 50, seed=9)
        assert sum(len(row_answer(r)) for r in rows) / len(rows) > 60, name


def test_the_lexicon_is_one_fixed_mapping() -> None:
    family = get_family("lexicon")
    seen: dict[str, str] = {}
    for seed in range(3):
        for prompt, answer in sample_unique(family, difficulty_at(family, 0.0), 200, random.Random(seed)):
            for word, code in zip(prompt.removeprefix("Translate to Zarnic: ").split(), answer.split(), strict=True):
                assert seen.setdefault(word, code) == code
    assert len(seen) == 24  # the easiest setting's whole vocabulary, seen across 600 rows


def test_docs_list_every_family_and_knob() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[1] / "docs" / "tunebench.md").read_text(encoding="utf-8")
    for name, family in FAMILIES.items():
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row is not None, name
        for knob, values in family.knobs.items():
            assert f"`{knob}` " + " / ".join(map(str, values)) in row, (name, knob)
