"""Lexicon: translate words into a made-up language, "Translate to Zarnic: river apple sun" -> "vop kel dat".

The difficulty lies in the data, not the format: each word's code is arbitrary (a fixed mapping), so
the task is learnt only for the words the training rows show often enough. The format is trivial; the
vocabulary size and the words per prompt decide how much a run must memorise from how many rows.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from tuneahead.bench.tasks.base import WORDS, Family, knob_table

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def code_word(word: str) -> str:
    """The fixed made-up translation of `word` (three letters, consonant-vowel-consonant).

    From a hash rather than a random draw, so every scenario and every split agrees on the lexicon.
    """
    digest = hashlib.sha256(f"tunebench-lexicon:{word}".encode()).digest()
    return _CONSONANTS[digest[0] % 14] + _VOWELS[digest[1] % 5] + _CONSONANTS[digest[2] % 14]


class Lexicon(Family):
    name = "lexicon"
    description = "translate words with a fixed made-up lexicon; harder with a larger vocabulary and more words"
    # At least 24 words and 3 per prompt: 13,824 prompts, enough for the largest training set.
    knobs = knob_table(vocabulary=(24, 48, 96, 200), words=(3, 4, 5))

    def _sample(self, rng: random.Random, d: dict[str, Any]) -> tuple[str, str]:
        vocabulary = WORDS[: min(d["vocabulary"], len(WORDS))]
        words = [rng.choice(vocabulary) for _ in range(d["words"])]
        return f"Translate to Zarnic: {' '.join(words)}", " ".join(code_word(w) for w in words)
