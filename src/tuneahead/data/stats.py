"""One streaming pass over a dataset that gathers everything the static descriptors need.

Descriptors are small pure functions of `DatasetStats` (see `descriptors.py`); the expensive work
(rendering, tokenizing, hashing, MinHash) happens once here, batch by batch, so a dataset larger
than memory can be described: per example we keep a few integers and 64-bit hashes, never text.

The eval set, when given, is gathered first so that each training example can be checked against
it on the fly (exact, near-duplicate and long n-gram overlap = leakage).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tuneahead.recipe.model import Recipe

from tuneahead.data.example import Example
from tuneahead.data.render import Tokenized, build_masks, encode_rendered, render
from tuneahead.data.sketches import MinHasher, NearDuplicateIndex, band_keys, word_ngram_hashes
from tuneahead.models.tokenizer import TokenizerBundle

NEAR_DUP_THRESHOLD = 0.8  # estimated Jaccard similarity of character 5-gram shingles
# Shorter texts take part in exact matching only: in templated rows ("Convert 2006-01-10 to DD/MM/YYYY.
# 10/01/2006") a few changed characters leave most shingles shared, so distinct examples would read as
# near duplicates and as eval leaks.
NEAR_DUP_MIN_CHARS = 80
NGRAM_LEAK_SHARE = 0.9  # an eval example is leaked when >= 90 % of its n-grams occur in train
TEXT_SAMPLE = 5000  # examples kept (reservoir) for diversity measures and perplexity
MAX_IDS = 8  # example ids kept as evidence per finding
BATCH = 2048

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# "Special" characters: neither letters/digits, whitespace nor ordinary punctuation.
_SPECIAL = re.compile(r"[^\w\s.,;:!?'\"()\[\]{}\-/]")


def normalise(text: str) -> str:
    """Lower case, whitespace runs as one space, no leading or trailing space (str.split is the fast way to
    split on exactly what the regex \\s+ matches)."""
    return " ".join(text.lower().split())


def _hash(text: str) -> int:
    # Python's string hash is salted per process but stable within one, which is all the set
    # lookups here need; 64 bits keep collisions negligible at millions of rows.
    return hash(text)


@dataclass
class _BatchTexts:
    """The normalised texts of one batch and their sketches, computed for the whole batch at once."""

    full: list[str]  # normalised content text (system prompts left out)
    prompts: list[str]
    answers: list[str]
    signed: list[int]  # rows long enough to compare by shingles (NEAR_DUP_MIN_CHARS), in order
    signatures: np.ndarray  # their MinHash signatures
    band_keys: np.ndarray  # and LSH band keys
    grams: np.ndarray  # word n-gram hashes of every row's content, concatenated
    gram_counts: np.ndarray

    @classmethod
    def of(cls, batch: list[Example], hasher: MinHasher) -> _BatchTexts:
        full = [normalise(ex.content_text()) for ex in batch]
        signed = [i for i, text in enumerate(full) if len(text) >= NEAR_DUP_MIN_CHARS]
        signatures = hasher.signatures([full[i] for i in signed])
        grams, gram_counts = word_ngram_hashes(full)
        return cls(
            full=full,
            prompts=[normalise(ex.prompt_text()) for ex in batch],
            answers=[normalise(ex.completion_text()) for ex in batch],
            signed=signed,
            signatures=signatures,
            band_keys=band_keys(signatures),
            grams=grams,
            gram_counts=gram_counts,
        )

    def near(self, index: NearDuplicateIndex, rows: list[int], first_item: int | None = None) -> dict[int, list[int]]:
        """The indexed texts near each of `rows` (batch rows, in order; a text too short to compare by
        shingles has none). With `first_item`, each signed row is then indexed as item `first_item + row`, so
        later rows are compared with it too."""
        wanted = set(rows)
        picked = [j for j, row in enumerate(self.signed) if row in wanted]
        found = index.near_batch(
            [self.signed[j] + (first_item or 0) for j in picked], self.signatures[picked], self.band_keys[picked],
            add=first_item is not None,
        )
        return {self.signed[j]: near for j, near in zip(picked, found)}


class _EvalGrams:
    """The eval set's word n-grams, and which of them the training data contains (n-gram leakage)."""

    def __init__(self) -> None:
        self._per_row: list[np.ndarray] = []  # each eval row's distinct grams

    def add_batch(self, texts: _BatchTexts) -> None:
        ends = np.cumsum(texts.gram_counts)
        for first, last in zip(ends - texts.gram_counts, ends):
            self._per_row.append(np.unique(texts.grams[first:last]))

    def freeze(self) -> None:
        self._all = np.unique(np.concatenate(self._per_row)) if self._per_row else np.zeros(0, np.uint64)
        self._found = np.zeros(self._all.size, dtype=bool)

    def mark_found(self, grams: np.ndarray) -> None:
        if self._all.size == 0 or grams.size == 0:
            return
        at = np.searchsorted(self._all, grams).clip(max=self._all.size - 1)
        self._found[at[self._all[at] == grams]] = True

    def overlap(self) -> list[float]:
        """Per eval row: the share of its grams found in train (0 for a row without words)."""
        return [float(self._found[np.searchsorted(self._all, g)].mean()) if g.size else 0.0 for g in self._per_row]


@dataclass
class LengthStats:
    """Per-example token counts, kept as compact arrays."""

    total: list[int] = field(default_factory=list)
    completion: list[int] = field(default_factory=list)
    loss: list[int] = field(default_factory=list)
    completion_kept: list[int] = field(default_factory=list)  # answer tokens within max length
    loss_kept: list[int] = field(default_factory=list)
    eos_target: list[bool] = field(default_factory=list)  # EOS is a loss-bearing token (kept)

    def add_batch(self, toks: list[Tokenized], max_len: int, eos_id: int | None) -> None:
        """Each example's token counts: in all, on the answer, carrying loss, and the same within `max_len`
        (what truncation keeps); and whether a kept loss-bearing token is EOS. One pass of array operations
        for the whole batch."""
        if not toks:
            return
        lengths = np.fromiter((t.length for t in toks), dtype=np.int64, count=len(toks))
        starts = np.cumsum(lengths) - lengths
        comp = np.concatenate([t.completion_mask for t in toks])
        loss = np.concatenate([t.loss_mask for t in toks])
        kept = (np.arange(len(comp)) - np.repeat(starts, lengths)) < max_len
        eos = loss & kept
        if eos_id is not None:
            eos &= np.concatenate([t.input_ids for t in toks]) == eos_id
        else:
            eos[:] = False

        def per_row(values: np.ndarray) -> np.ndarray:
            # Sums per row. A trailing 0 keeps every start a valid index; a row of no tokens sums to 0
            # (reduceat would give the value at its start).
            sums = np.add.reduceat(np.append(values.astype(np.int64), 0), starts)
            return np.where(lengths > 0, sums, 0)

        self.total.extend(lengths.tolist())
        self.completion.extend(per_row(comp).tolist())
        self.loss.extend(per_row(loss).tolist())
        self.completion_kept.extend(per_row(comp & kept).tolist())
        self.loss_kept.extend(per_row(loss & kept).tolist())
        self.eos_target.extend((per_row(eos) > 0).tolist())

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "total": np.asarray(self.total, dtype=np.int64),
            "completion": np.asarray(self.completion, dtype=np.int64),
            "loss": np.asarray(self.loss, dtype=np.int64),
            "completion_kept": np.asarray(self.completion_kept, dtype=np.int64),
            "loss_kept": np.asarray(self.loss_kept, dtype=np.int64),
            "eos_target": np.asarray(self.eos_target, dtype=bool),
        }


@dataclass
class SideStats:
    """What is known about one side (train or eval) after the pass."""

    n: int
    ids: list[str]  # example ids, index-aligned with the arrays (needed for evidence)
    lengths: dict[str, np.ndarray]
    chars: int
    non_ascii_chars: int
    special_chars: int
    chat_share: float
    dropped_turn_examples: int = 0  # examples whose template left out some assistant turns
    dropped_turns: int = 0  # assistant turns left out in all

    def id_of(self, index: int) -> str:
        return self.ids[index]


@dataclass
class DatasetStats:
    """Everything descriptors and findings read. Produced by `gather_stats`."""

    train: SideStats
    eval: SideStats | None
    max_seq_length: int
    loss_on: str
    tokenizer_info: dict[str, object]
    template_present: bool  # the tokenizer or recipe provides a chat template (else ChatML fallback)
    template_has_generation_tags: bool
    pad_equals_eos: bool
    # duplication (train)
    exact_dup_ids: list[str]
    exact_dup_count: int
    near_dup_ids: list[str]
    near_dup_count: int
    dup_prompt_count: int
    conflict_count: int
    conflict_ids: list[str]
    # answers (train)
    answer_counts: Counter
    answer_texts: dict[int, str]
    # leakage (eval vs train)
    eval_exact_leaks: list[int]
    eval_near_leaks: list[int]
    eval_prompt_leaks: list[int]
    eval_ngram_overlap: list[float]
    eval_ngram_leaks: list[int]
    # diversity (sample)
    sample_examples: list[Example]
    # filled in by the caller when a recipe / model is known
    recipe: Recipe | None = None
    model_config: dict | None = None
    base_perplexity: tuple[float, float] | None = None

    @property
    def sample_texts(self) -> list[str]:
        return [e.full_text() for e in self.sample_examples]

    @property
    def sample_completions(self) -> list[str]:
        return [e.completion_text() for e in self.sample_examples]

    def leaked_eval_ids(self, indices: list[int], k: int = MAX_IDS) -> list[str]:
        assert self.eval is not None
        return [self.eval.id_of(i) for i in indices[:k]]


def _batches(examples: Iterable[Example], size: int = BATCH) -> Iterator[list[Example]]:
    it = iter(examples)
    while batch := list(islice(it, size)):
        yield batch


class _Side:
    """Accumulator for one dataset side."""

    def __init__(self, bundle: TokenizerBundle, template: str, loss_on: str, max_len: int, seed: int) -> None:
        self.bundle, self.template, self.loss_on, self.max_len = bundle, template, loss_on, max_len
        self.eos_id = bundle.eos_id
        self.ids: list[str] = []
        self.lengths = LengthStats()
        self.chars = self.non_ascii = self.special = self.chat = 0
        self.dropped_turn_examples = self.dropped_turns = 0
        self.rng = random.Random(seed)
        self.sample: list[Example] = []

    def start_batch(self, batch: list[Example], pool: ThreadPoolExecutor) -> tuple[list[Example], list, Future]:
        """Render now; tokenize in a thread (Rust, GIL released) while the caller hashes the batch."""
        rendered = [render(e, self.bundle, self.template) for e in batch]
        return batch, rendered, pool.submit(encode_rendered, rendered, self.bundle)

    def finish_batch(self, started: tuple[list[Example], list, Future]) -> None:
        batch, rendered, future = started
        for r in rendered:
            self.dropped_turn_examples += r.dropped_turns > 0
            self.dropped_turns += r.dropped_turns
        self.lengths.add_batch(build_masks(batch, rendered, future.result(), self.loss_on), self.max_len, self.eos_id)
        for ex in batch:
            self._reservoir(ex)
            self.ids.append(ex.id)
            self.chat += ex.is_chat

    def count_chars(self, text: str) -> None:
        self.chars += len(text)
        if not text.isascii():
            self.non_ascii += len(_NON_ASCII.findall(text))
        self.special += len(_SPECIAL.findall(text))

    def _reservoir(self, ex: Example) -> None:
        n = len(self.ids)
        if len(self.sample) < TEXT_SAMPLE:
            self.sample.append(ex)
        else:
            j = self.rng.randrange(n + 1)
            if j < TEXT_SAMPLE:
                self.sample[j] = ex

    def finish(self) -> SideStats:
        n = len(self.ids)
        return SideStats(
            n=n,
            ids=self.ids,
            lengths=self.lengths.arrays(),
            chars=self.chars,
            non_ascii_chars=self.non_ascii,
            special_chars=self.special,
            chat_share=self.chat / n if n else math.nan,
            dropped_turn_examples=self.dropped_turn_examples,
            dropped_turns=self.dropped_turns,
        )


def gather_stats(
    train: Iterable[Example],
    *,
    bundle: TokenizerBundle,
    template: str,
    template_from_user_or_model: bool,
    max_seq_length: int,
    loss_on: str,
    eval_examples: Iterable[Example] | None = None,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> DatasetStats:
    """Stream `train` (and `eval_examples`) once and return the gathered statistics.

    `progress(n)` is called after each batch with the number of train examples seen so far.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize")
    try:
        return _gather(
            train, bundle=bundle, template=template, template_from_user_or_model=template_from_user_or_model,
            max_seq_length=max_seq_length, loss_on=loss_on, eval_examples=eval_examples, seed=seed,
            progress=progress, pool=pool,
        )
    finally:
        pool.shutdown(wait=True)


def _gather(
    train: Iterable[Example],
    *,
    bundle: TokenizerBundle,
    template: str,
    template_from_user_or_model: bool,
    max_seq_length: int,
    loss_on: str,
    eval_examples: Iterable[Example] | None,
    seed: int,
    progress: Callable[[int], None] | None,
    pool: ThreadPoolExecutor,
) -> DatasetStats:
    hasher = MinHasher()

    # ---- eval side first: index it so train rows can be checked against it ----
    eval_side: _Side | None = None
    eval_exact: dict[int, list[int]] = {}
    eval_prompt: dict[int, list[int]] = {}
    eval_near = NearDuplicateIndex(NEAR_DUP_THRESHOLD)
    eval_grams = _EvalGrams()
    if eval_examples is not None:
        eval_side = _Side(bundle, template, loss_on, max_seq_length, seed + 1)
        i = 0
        for batch in _batches(eval_examples):
            started = eval_side.start_batch(batch, pool)
            texts = _BatchTexts.of(batch, hasher)
            eval_grams.add_batch(texts)
            texts.near(eval_near, list(range(len(batch))), first_item=i)  # indexes the batch's eval rows
            for k, ex in enumerate(batch):
                eval_side.count_chars(ex.full_text())
                eval_exact.setdefault(_hash(texts.full[k]), []).append(i)
                if texts.prompts[k]:  # plain text has no prompt: nothing to leak through it
                    eval_prompt.setdefault(_hash(texts.prompts[k]), []).append(i)
                i += 1
            eval_side.finish_batch(started)
    eval_grams.freeze()
    exact_leaks: set[int] = set()
    near_leaks: set[int] = set()
    prompt_leaks: set[int] = set()

    # ---- train side ----
    side = _Side(bundle, template, loss_on, max_seq_length, seed)
    train_near = NearDuplicateIndex(NEAR_DUP_THRESHOLD)
    seen_full: set[int] = set()
    exact_ids: list[str] = []
    exact_count = 0
    near_ids: list[str] = []
    near_count = 0
    prompt_answer: dict[int, int] = {}  # prompt hash -> first answer hash
    prompt_conflicted: set[int] = set()
    prompt_of_row: list[int | None] = []
    answers: Counter = Counter()
    answer_texts: dict[int, str] = {}
    row = 0
    for batch in _batches(train):
        started = side.start_batch(batch, pool)
        texts = _BatchTexts.of(batch, hasher)
        full_hashes = [_hash(text) for text in texts.full]
        # Exact duplicates first (in order); the others are compared with earlier rows by MinHash LSH.
        fresh = []
        for k, full_h in enumerate(full_hashes):
            if full_h not in seen_full:
                seen_full.add(full_h)
                fresh.append(k)
        near_train = texts.near(train_near, fresh, first_item=row)
        fresh_rows = set(fresh)
        near_eval: dict[int, list[int]] = {}
        if eval_examples is not None:
            eval_grams.mark_found(texts.grams)
            near_eval = texts.near(eval_near, list(range(len(batch))))
        for k, ex in enumerate(batch):
            side.count_chars(ex.full_text())
            full_h = full_hashes[k]
            # Plain text (no prompt) shares no prompt with anything: no conflicting or duplicate prompts.
            prompt_h = _hash(texts.prompts[k]) if texts.prompts[k] else None
            answer = texts.answers[k]
            answer_h = _hash(answer)
            answers[answer_h] += 1
            if answer_h not in answer_texts:
                answer_texts[answer_h] = answer[:120]
            # conflicting labels: same prompt, different answer
            prompt_of_row.append(prompt_h)
            if prompt_h is not None and prompt_answer.setdefault(prompt_h, answer_h) != answer_h:
                prompt_conflicted.add(prompt_h)
            # duplicates: exact first, else near (MinHash LSH against earlier rows)
            if k not in fresh_rows:
                exact_count += 1
                if len(exact_ids) < MAX_IDS:
                    exact_ids.append(ex.id)
            elif near_train.get(k):
                near_count += 1
                if len(near_ids) < MAX_IDS:
                    near_ids.append(ex.id)
            # leakage: this train row against the indexed eval set
            if eval_examples is not None:
                exact_leaks.update(eval_exact.get(full_h, ()))
                if prompt_h is not None:
                    prompt_leaks.update(eval_prompt.get(prompt_h, ()))
                near_leaks.update(near_eval.get(k, ()))
            row += 1
        side.finish_batch(started)
        if progress is not None:
            progress(row)

    prompt_counts = Counter(p for p in prompt_of_row if p is not None)
    dup_prompt_rows = sum(c for c in prompt_counts.values() if c > 1)
    conflict_rows = [i for i, p in enumerate(prompt_of_row) if p in prompt_conflicted]
    train_stats = side.finish()

    overlap = eval_grams.overlap()
    ngram_leaks = [j for j, share in enumerate(overlap) if share >= NGRAM_LEAK_SHARE]

    return DatasetStats(
        train=train_stats,
        eval=eval_side.finish() if eval_side is not None else None,
        max_seq_length=max_seq_length,
        loss_on=loss_on,
        tokenizer_info=bundle.describe(),
        template_present=template_from_user_or_model,
        template_has_generation_tags="{% generation %}" in template or "{%- generation %}" in template,
        pad_equals_eos=bundle.pad_equals_eos,
        exact_dup_ids=exact_ids,
        exact_dup_count=exact_count,
        near_dup_ids=near_ids,
        near_dup_count=near_count,
        dup_prompt_count=dup_prompt_rows,
        conflict_count=len(conflict_rows),
        conflict_ids=[train_stats.id_of(i) for i in conflict_rows[:MAX_IDS]],
        answer_counts=answers,
        answer_texts=answer_texts,
        eval_exact_leaks=sorted(exact_leaks),
        eval_near_leaks=sorted(near_leaks | exact_leaks),
        eval_prompt_leaks=sorted(prompt_leaks),
        eval_ngram_overlap=overlap,
        eval_ngram_leaks=ngram_leaks,
        sample_examples=list(side.sample),
    )
