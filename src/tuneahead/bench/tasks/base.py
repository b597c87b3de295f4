"""What a TuneBench task family is, and the helpers every family shares.

A family generates (prompt, answer) pairs for one instruction task with a short exact-match answer.
Its `knobs` map each difficulty knob to its allowed values, **ordered from easy to hard**, so a
scalar difficulty level in [0, 1] maps onto every knob the same way (`difficulty_at`). Sampling is
deterministic given a `random.Random`: families never touch global random state.

Classification-like families (a fixed, small answer set) also implement `labels` and
`sample_label`, which lets the scenario generator skew the answer distribution on purpose.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

Difficulty = Mapping[str, Any]


@runtime_checkable
class TaskFamily(Protocol):
    """One instruction task with a difficulty knob per axis of hardness."""

    name: str
    description: str
    knobs: Mapping[str, tuple]  # knob -> allowed values, easy -> hard

    def sample(self, rng: random.Random, difficulty: Difficulty) -> tuple[str, str]:
        """One (prompt, answer) pair."""
        ...

    def normalize_answer(self, text: str) -> str:
        """The form two answers are compared in for exact match."""
        ...


@runtime_checkable
class LabelledFamily(TaskFamily, Protocol):
    """A family whose answers come from a small label set (so the label mix can be skewed)."""

    def labels(self, difficulty: Difficulty) -> tuple[str, ...]: ...

    def sample_label(self, rng: random.Random, difficulty: Difficulty, label: str) -> tuple[str, str]: ...


_SPACES = re.compile(r"\s+")


def knob_table(**knobs: tuple) -> Mapping[str, tuple]:
    """A family's knobs, read-only (families are shared singletons); each value tuple runs easy -> hard."""
    return MappingProxyType(knobs)


class Family:
    """Shared behaviour: knob validation, normalisation, and the labelled-sampling fallback.

    Subclasses set `name`, `description`, `knobs`, `case_sensitive`, and implement `_sample`
    (or `_sample_label` + `_labels` for a labelled family).
    """

    name: str = ""
    description: str = ""
    knobs: Mapping[str, tuple] = MappingProxyType({})
    case_sensitive: bool = False  # answers like "MTQK" vs "mtqk" differ only when the task is about case

    # ---- public API ----

    def sample(self, rng: random.Random, difficulty: Difficulty) -> tuple[str, str]:
        d = self.check_difficulty(difficulty)
        labels = self._labels(d)
        if labels is not None:
            return self._sample_label(rng, d, rng.choice(labels))
        return self._sample(rng, d)

    def normalize_answer(self, text: str) -> str:
        text = _SPACES.sub(" ", text.strip())
        if text.endswith(".") and not self.case_sensitive:
            text = text[:-1].rstrip()
        return text if self.case_sensitive else text.lower()

    def check_difficulty(self, difficulty: Difficulty) -> dict[str, Any]:
        """The difficulty with unset knobs at their easiest value; unknown knobs or values raise."""
        unknown = set(difficulty) - set(self.knobs)
        if unknown:
            raise ValueError(
                f"task family '{self.name}' has no knob {min(unknown)!r}; knobs: {', '.join(self.knobs)}"
            )
        out: dict[str, Any] = {}
        for knob, values in self.knobs.items():
            value = difficulty.get(knob, values[0])
            if value not in values:
                raise ValueError(
                    f"task family '{self.name}': knob {knob!r} cannot be {value!r}; allowed: {list(values)}"
                )
            out[knob] = value
        return out

    def labels(self, difficulty: Difficulty) -> tuple[str, ...]:
        labels = self._labels(self.check_difficulty(difficulty))
        if labels is None:
            raise TypeError(f"task family '{self.name}' has no fixed label set")
        return labels

    def sample_label(self, rng: random.Random, difficulty: Difficulty, label: str) -> tuple[str, str]:
        labels = self.labels(difficulty)
        if label not in labels:
            raise ValueError(f"task family '{self.name}': label {label!r} not in {list(labels)}")
        return self._sample_label(rng, self.check_difficulty(difficulty), label)

    @property
    def is_labelled(self) -> bool:
        return type(self)._labels is not Family._labels

    def __repr__(self) -> str:
        return f"<task family {self.name}>"

    # ---- for subclasses ----

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        raise NotImplementedError

    def _labels(self, d: dict[str, Any]) -> tuple[str, ...] | None:
        return None

    def _sample_label(self, rng: random.Random, d: dict[str, Any], label: str) -> tuple[str, str]:
        raise NotImplementedError


def is_labelled(family: TaskFamily) -> bool:
    """True when the family has a fixed label set the generator may skew."""
    return bool(getattr(family, "is_labelled", False))


def knob_position(family: TaskFamily, knob: str, value: Any) -> float:
    """Where `value` sits on the knob's easy (0) -> hard (1) scale."""
    values = family.knobs[knob]
    return 0.0 if len(values) == 1 else values.index(value) / (len(values) - 1)


def difficulty_score(family: TaskFamily, difficulty: Difficulty) -> float:
    """Mean position of every knob on its easy -> hard scale: 0 = easiest setting, 1 = hardest."""
    if not family.knobs:
        return 0.0
    full = {k: difficulty.get(k, v[0]) for k, v in family.knobs.items()}
    return sum(knob_position(family, k, full[k]) for k in family.knobs) / len(family.knobs)


def difficulty_at(family: TaskFamily, level: float, rng: random.Random | None = None) -> dict[str, Any]:
    """Knob values at difficulty `level` in [0, 1]; with `rng`, each knob is jittered by up to one notch.

    The jitter keeps a corpus from holding only a few fixed knob combinations per family.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"difficulty level must be in [0, 1], got {level}")
    out: dict[str, Any] = {}
    for knob, values in family.knobs.items():
        pos = level * (len(values) - 1)
        if rng is not None:
            pos += rng.uniform(-0.6, 0.6)
        idx = min(len(values) - 1, max(0, round(pos)))
        out[knob] = values[idx]
    return out


# ---------------------------------------------------------------- word lists (written for TuneBench)

# Common short English words: one to four tokens each (1.7 on average) for the tiny models' BPE.
_WORDS_TEXT = """apple river stone cloud garden window letter market yellow quiet bright simple water music
    table mountain forest city road bridge paper story teacher student doctor friend family morning evening
    summer winter fast slow large small early late green blue red black white orange purple book chair
    door house school train plane ship bread cheese coffee tea honey salt sugar rice bird horse tiger
    lion whale fish flower tree grass sun moon star planet ocean island desert valley question answer
    number word list order value result problem method example lamp clock glass plate spoon knife fork
    shirt shoe hat coat bag box pen card ring coin key lock wall roof floor field farm hill lake sea
    wind rain snow fire ice sand rock gold silver iron wood cotton wool milk egg meat soup cake fruit
    corn bean nut seed leaf root branch king queen child baby girl boy man woman uncle aunt cousin
    village town street park garden castle tower church office shop bank hotel station port airport
    engine wheel wire phone radio screen camera picture song dance game ball team goal score player"""
WORDS: tuple[str, ...] = tuple(dict.fromkeys(_WORDS_TEXT.split()))

_FILLER_TEXT = """the a this that one some many every other each its their our his her near under over with
    from into about after before during while then still also only just very quite rather often"""
FILLER: tuple[str, ...] = tuple(_FILLER_TEXT.split())

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def random_letters(rng: random.Random, n: int, alphabet: str = LETTERS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def normalize_number(text: str) -> str:
    """Numbers compare without spaces, thousands separators or a trailing full stop."""
    text = text.strip().rstrip(".").replace(",", "").replace(" ", "")
    return text.lower()
