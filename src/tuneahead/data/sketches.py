"""Vectorised text sketches for the duplicate and leakage checks: MinHash signatures of character
shingles with a banded LSH index, and hashed word n-grams.

Everything is computed a batch of texts at a time in numpy: per-text Python work (a MinHash object per row,
an integer conversion per shingle) cost several times the tokenizer's own pass over the data.

Signatures use one affine permutation per slot on 32-bit mixed shingle hashes, `(a * h + b) mod 2**32`
with `a` odd (a bijection), the scheme datasketch calls affine32. The Jaccard similarity of two texts'
shingle sets is estimated by the share of equal slots.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

NUM_PERM = 64
SHINGLE = 5  # characters
# LSH bands: a pair becomes a candidate when all ROWS slots of any band agree. With 12 bands of 5 slots a
# pair at Jaccard 0.8 is a candidate with probability 1 - (1 - 0.8**5)**12 = 0.991; candidates are then
# checked on the whole signature, so a looser band only costs time.
BANDS, ROWS = 12, 5
LEAK_NGRAM = 8  # words; shorter texts use their whole word sequence as one gram
# Shingles permuted at once: the (NUM_PERM x shingles) uint32 matrix stays within cache (4 MiB), which makes
# the pass several times faster than one large matrix; it is laid out so each text's minimum runs along
# contiguous memory.
_CHUNK_SHINGLES = 1 << 14
_POLY = np.uint64(1_000_003)  # multiplier of the rolling polynomial hashes (wrap-around mod 2**64 intended)
_WORD = re.compile(r"\w+")


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser: spreads the bits of structured hashes before the affine permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _window_starts(lengths: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Start positions, in the concatenation of sequences of `lengths`, of every window of `width` that
    lies inside one sequence; and how many windows each sequence has."""
    counts = np.maximum(lengths - width + 1, 0)
    firsts = np.cumsum(lengths) - lengths
    total = int(counts.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(firsts, counts) + within, counts


def shingle_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every text's character 5-grams (with repeats), concatenated; and each text's count."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    starts, counts = _window_starts(lengths, SHINGLE)
    h = np.zeros(starts.size, dtype=np.uint64)
    for k in range(SHINGLE):
        h = h * _POLY + codes[starts + k]
    folded = ((h >> np.uint64(32)) ^ (h & np.uint64(0xFFFFFFFF))).astype(np.uint32)
    return _fmix32(folded), counts


class MinHasher:
    """MinHash signatures of texts' character-shingle sets, `NUM_PERM` uint32 slots per text."""

    def __init__(self, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = (rng.integers(0, 1 << 32, NUM_PERM, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.b = rng.integers(0, 1 << 32, NUM_PERM, dtype=np.uint64).astype(np.uint32)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), NUM_PERM) signatures. Every text must be at least SHINGLE characters long."""
        out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
        # Chunk boundaries: consecutive texts holding about _CHUNK_SHINGLES characters, at least one text each.
        ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        first = 0
        while first < len(texts):
            base = int(ends[first - 1]) if first else 0
            last = max(first + 1, int(np.searchsorted(ends, base + _CHUNK_SHINGLES, side="right")))
            hashes, counts = shingle_hashes(texts[first:last])
            if (counts == 0).any():
                raise ValueError(f"a text shorter than {SHINGLE} characters has no shingles to sign")
            permuted = self.a[:, None] * hashes + self.b[:, None]  # uint32 arithmetic wraps: mod 2**32
            out[first:last] = np.minimum.reduceat(permuted, np.cumsum(counts) - counts, axis=1).T
            first = last
        return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.count_nonzero(a == b)) / a.shape[-1]


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """(n, BANDS) uint64 keys, one per band of ROWS slots: equal bands give equal keys."""
    bands = signatures[:, : BANDS * ROWS].reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    keys = np.zeros((len(signatures), BANDS), dtype=np.uint64)
    for r in range(ROWS):
        keys = keys * _POLY + bands[:, :, r]
    return keys


class NearDuplicateIndex:
    """Banded LSH over MinHash signatures: which indexed texts are near duplicates of a new one.

    A band key maps to the one text filed under it, or to a list once several share it (rare: only near
    duplicates and chance collisions do), which keeps a million-row index small."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(BANDS)]
        self._signatures: dict[int, np.ndarray] = {}

    def near(self, signature: np.ndarray, keys: Sequence[int]) -> list[int]:
        """Indexed texts whose estimated Jaccard with `signature` (band `keys` from `band_keys`) reaches the
        threshold."""
        candidates: set[int] = set()
        for table, key in zip(self._tables, keys):
            found = table.get(key)
            if isinstance(found, list):
                candidates.update(found)
            elif found is not None:
                candidates.add(found)
        return sorted(c for c in candidates if jaccard(signature, self._signatures[c]) >= self.threshold)

    def add(self, item: int, signature: np.ndarray, keys: Sequence[int]) -> None:
        for table, key in zip(self._tables, keys):
            found = table.get(key)
            if found is None:
                table[key] = item
            elif isinstance(found, list):
                found.append(item)
            else:
                table[key] = [found, item]
        self._signatures[item] = signature

    def near_batch(self, items: Sequence[int], signatures: np.ndarray, keys: np.ndarray, *, add: bool) -> list[list[int]]:
        """`near` for each text of a batch, in order; with `add`, each is then indexed under its item, so a
        text is also compared with the batch's earlier ones. Equal to those calls one by one, but a text that
        shares no band key with the index or the rest of the batch (nearly all) costs no Python step: the
        keys are matched per band with set operations, and the unmatched texts filed in bulk."""
        n = len(items)
        columns = keys.T.tolist()  # per band: the batch's keys
        matched = np.zeros(n, dtype=bool)
        for band, (table, column) in enumerate(zip(self._tables, columns)):
            shared = table.keys() & set(column)
            if shared:
                matched |= np.fromiter((k in shared for k in column), dtype=bool, count=n)
            if add:  # a key twice in the batch: both texts are compared in order below
                _, inverse, counts = np.unique(keys[:, band], return_inverse=True, return_counts=True)
                matched |= counts[inverse] > 1
        out: list[list[int]] = [[] for _ in range(n)]
        rows = keys.tolist()
        if add:
            # Unmatched texts share no key with anything, so filing them first changes no other text's candidates.
            free = np.flatnonzero(~matched).tolist()
            for table, column in zip(self._tables, columns):
                table.update((column[i], items[i]) for i in free)
            self._signatures.update((items[i], signatures[i]) for i in free)
        for i in np.flatnonzero(matched).tolist():
            out[i] = self.near(signatures[i], rows[i])
            if add:
                self.add(items[i], signatures[i], rows[i])
        return out


def word_ngram_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every text's word 8-grams (a text of at most 8 words is one gram), concatenated with
    repeats; and each text's count. Word hashes are Python's (salted per process), so compare hashes made
    in one process only."""
    words = [_WORD.findall(t) for t in texts]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = np.fromiter((hash(w) for ws in words for w in ws), dtype=np.int64, count=int(lengths.sum()))
    word_h = flat.view(np.uint64)
    starts, counts = _window_starts(lengths, LEAK_NGRAM)
    grams = np.zeros(starts.size, dtype=np.uint64)
    for k in range(LEAK_NGRAM):
        grams = grams * _POLY + word_h[starts + k]
    # Texts of 1..LEAK_NGRAM-1 words: one gram over all their words, by the same polynomial.
    short = np.flatnonzero((lengths > 0) & (lengths < LEAK_NGRAM))
    if short.size:
        firsts = np.cumsum(lengths) - lengths
        short_grams = np.zeros(short.size, dtype=np.uint64)
        for k in range(LEAK_NGRAM - 1):
            take = lengths[short] > k
            pos = np.where(take, firsts[short] + k, 0)
            short_grams = np.where(take, short_grams * _POLY + word_h[pos], short_grams)
        # Splice the short texts' single grams in at their place in the concatenation.
        gram_firsts = np.cumsum(counts) - counts
        grams = np.insert(grams, gram_firsts[short], short_grams)
        counts = counts.copy()
        counts[short] = 1
    return grams, counts
