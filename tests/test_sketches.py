"""The vectorised text sketches behind the duplicate and leakage checks."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tuneahead.data.sketches import (
    LEAK_NGRAM,
    NUM_PERM,
    MinHasher,
    NearDuplicateIndex,
    band_keys,
    jaccard,
    shingle_hashes,
    word_ngram_hashes,
)


def _text(rng: random.Random, words: int) -> str:
    return " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 8))) for _ in range(words))


def _true_jaccard(a: str, b: str) -> float:
    sa = {a[i : i + 5] for i in range(len(a) - 4)}
    sb = {b[i : i + 5] for i in range(len(b) - 4)}
    return len(sa & sb) / len(sa | sb)


def test_signatures_estimate_jaccard_and_do_not_depend_on_the_batch():
    rng = random.Random(0)
    base = _text(rng, 60)
    edited = base[:200] + _text(rng, 8) + base[240:]
    other = _text(rng, 60)
    hasher = MinHasher()
    sigs = hasher.signatures([base, edited, other])
    assert sigs.shape == (3, NUM_PERM) and sigs.dtype == np.uint32
    assert jaccard(sigs[0], sigs[1]) == pytest.approx(_true_jaccard(base, edited), abs=0.2)
    assert jaccard(sigs[0], sigs[2]) < 0.2
    # One text's signature is the same whatever else is in its batch (chunking is invisible).
    alone = hasher.signatures([edited])
    many = hasher.signatures([other] * 300 + [edited])
    np.testing.assert_array_equal(alone[0], sigs[1])
    np.testing.assert_array_equal(many[-1], sigs[1])


def test_shingles_count_code_points_not_bytes():
    hashes, counts = shingle_hashes(["naïve café text", "abcd", "日本語のテキストです"])
    assert counts.tolist() == [11, 0, 6]
    assert hashes.size == 17


def test_a_text_too_short_to_shingle_is_refused():
    with pytest.raises(ValueError, match="shorter than 5"):
        MinHasher().signatures(["long enough text", "abc"])


def test_the_index_finds_near_duplicates_only():
    rng = random.Random(1)
    texts = [_text(rng, 50) for _ in range(200)]
    near = texts[17][:-12] + "xyzxyz qwer"
    hasher = MinHasher()
    sigs = hasher.signatures([*texts, near])
    keys = band_keys(sigs).tolist()
    index = NearDuplicateIndex(0.8)
    for i in range(200):
        index.add(i, sigs[i], keys[i])
    assert index.near(sigs[200], keys[200]) == [17]
    assert index.near(hasher.signatures([_text(rng, 50)])[0], band_keys(hasher.signatures([_text(rng, 50)]))[0]) == []


def test_word_ngrams_short_and_long_texts():
    long_text = " ".join(f"w{i}" for i in range(12))
    grams, counts = word_ngram_hashes([long_text, "two words", "", long_text.upper().lower()])
    assert counts.tolist() == [12 - LEAK_NGRAM + 1, 1, 0, 12 - LEAK_NGRAM + 1]
    first = grams[: counts[0]]
    last = grams[counts[:3].sum():]
    np.testing.assert_array_equal(first, last)  # equal texts, equal grams
    # A gram is the same wherever its words stand: the 8 words starting at w2 in a text that starts there.
    shifted, _ = word_ngram_hashes([" ".join(f"w{i}" for i in range(2, 10))])
    assert shifted[0] == first[2]
    # A short text's one gram equals the window of the same words in a longer text only when it has 8 words.
    short, _ = word_ngram_hashes(["w0 w1 w2"])
    assert short[0] not in set(first.tolist())


def test_a_batch_finds_what_one_text_at_a_time_finds():
    rng = random.Random(2)
    base = [_text(rng, 40) for _ in range(60)]
    # Near copies inside the batch and of texts indexed before it.
    texts = base + [t[:-10] + "zzzz zzzz" for t in base[::7]] + [_text(rng, 40) for _ in range(30)]
    rng.shuffle(texts)
    hasher = MinHasher()
    sigs = hasher.signatures(texts)
    keys = band_keys(sigs)
    one, batch = NearDuplicateIndex(0.8), NearDuplicateIndex(0.8)
    expected = []
    for i in range(len(texts)):
        expected.append(one.near(sigs[i], keys[i].tolist()))
        one.add(i, sigs[i], keys[i].tolist())
    half = len(texts) // 2
    got = batch.near_batch(list(range(half)), sigs[:half], keys[:half], add=True)
    got += batch.near_batch(list(range(half, len(texts))), sigs[half:], keys[half:], add=True)
    assert got == expected and sum(map(bool, got)) >= 8
    # A query-only batch leaves the index as it was.
    probe = hasher.signatures([texts[3][:-6] + "qq", _text(rng, 40)])
    assert batch.near_batch([900, 901], probe, band_keys(probe), add=False) == [
        one.near(probe[0], band_keys(probe)[0].tolist()), []]
    assert batch.near(probe[0], band_keys(probe)[0].tolist()) == one.near(probe[0], band_keys(probe)[0].tolist())
