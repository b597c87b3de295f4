"""Examples -> the token sequences and micro-batches the probe trains on, as the full run would.

Token ids and loss masks come from `tuneahead.data.render.tokenize_batch` (the one renderer shared
with descriptors and the corpus). On top of it, this module applies what a trainer's data pipeline
does: right-truncation to `max_seq_length`, or packing (concatenate, cut into `max_seq_length`
blocks, with position ids that restart at every example so that attention stays within each example,
as packing-aware trainers do); dynamic padding to the longest sequence of each micro-batch with the pad id (EOS when the
tokenizer has none); labels = input ids where the mask says loss, -100 elsewhere and on padding.

Sampling is seeded: a permutation of the training pool is consumed in order; when a probe needs more
sequences than the pool holds, a new permutation starts (another epoch), as a trainer would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tuneahead.data.example import Example
from tuneahead.data.render import Tokenized, tokenize_batch
from tuneahead.models.tokenizer import TokenizerBundle

IGNORE_INDEX = -100  # label value the loss skips (PyTorch's cross_entropy default, HF convention)
TOKENIZE_CHUNK = 256


@dataclass(frozen=True)
class TrainSequence:
    input_ids: np.ndarray  # int64
    loss_mask: np.ndarray  # bool: the token is a training target
    completion_mask: np.ndarray  # bool: the token is part of an answer (for token accuracy)
    example_ids: tuple[str, ...]  # the example(s) it was cut from
    position_ids: np.ndarray | None = None  # packed blocks: positions restart at each example boundary

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def loss_tokens(self) -> int:
        # The first token of a sequence is never predicted (labels shift by one inside the loss).
        return int(self.loss_mask[1:].sum())


@dataclass
class Renderer:
    """Everything that turns examples into sequences for one recipe."""

    bundle: TokenizerBundle
    template: str
    loss_on: str
    max_len: int
    packing: bool

    def tokenize(self, examples: Sequence[Example]) -> list[Tokenized]:
        out: list[Tokenized] = []
        for i in range(0, len(examples), TOKENIZE_CHUNK):
            out.extend(
                tokenize_batch(examples[i : i + TOKENIZE_CHUNK], self.bundle, self.template, self.loss_on)
            )
        return out

    def sequences(self, examples: Sequence[Example], tokenized: Sequence[Tokenized]) -> list[TrainSequence]:
        if not self.packing:
            return [_truncated(t, e.id, self.max_len) for e, t in zip(examples, tokenized, strict=True)]
        return _pack(examples, tokenized, self.max_len)

    def token_count(self, tok: Tokenized) -> int:
        """Tokens this example contributes to training (truncated unless packed)."""
        return tok.length if self.packing else min(tok.length, self.max_len)


def _truncated(tok: Tokenized, example_id: str, max_len: int) -> TrainSequence:
    return TrainSequence(
        tok.input_ids[:max_len].astype(np.int64),
        tok.loss_mask[:max_len].copy(),
        tok.completion_mask[:max_len].copy(),
        (example_id,),
    )


@dataclass
class _Stream:
    """Concatenated tokens not yet cut into blocks, with the example each token came from."""

    ids: np.ndarray
    loss: np.ndarray
    comp: np.ndarray
    owner: list[str]  # example id per token
    segment: np.ndarray  # int64: which example occurrence each token belongs to (increasing)

    @classmethod
    def of(cls, examples: Sequence[Example], tokenized: Sequence[Tokenized]) -> _Stream:
        return cls(
            np.concatenate([t.input_ids for t in tokenized]).astype(np.int64),
            np.concatenate([t.loss_mask for t in tokenized]),
            np.concatenate([t.completion_mask for t in tokenized]),
            [e.id for e, t in zip(examples, tokenized, strict=True) for _ in range(t.length)],
            np.repeat(np.arange(len(tokenized), dtype=np.int64), [t.length for t in tokenized]),
        )

    def __add__(self, other: _Stream) -> _Stream:
        offset = int(self.segment[-1]) + 1 if len(self.segment) else 0
        return _Stream(
            np.concatenate([self.ids, other.ids]),
            np.concatenate([self.loss, other.loss]),
            np.concatenate([self.comp, other.comp]),
            self.owner + other.owner,
            np.concatenate([self.segment, other.segment + offset]),
        )


def segment_positions(segment: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal segment ids (a block's first token starts at 0)."""
    n = len(segment)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n, dtype=np.int64) - run_start


def _cut(stream: _Stream, max_len: int, keep_tail: bool) -> tuple[list[TrainSequence], _Stream | None]:
    """Blocks of max_len tokens; the incomplete tail is a block (keep_tail) or returned as carry."""
    blocks: list[TrainSequence] = []
    n = len(stream.ids)
    full_end = n - n % max_len
    end = n if keep_tail else full_end
    for start in range(0, end, max_len):
        stop = min(start + max_len, n)
        owners = tuple(dict.fromkeys(stream.owner[start:stop]))  # unique, in order
        blocks.append(
            TrainSequence(
                stream.ids[start:stop], stream.loss[start:stop], stream.comp[start:stop], owners,
                position_ids=segment_positions(stream.segment[start:stop]),
            )
        )
    if keep_tail or full_end == n:
        return blocks, None
    tail = _Stream(
        stream.ids[full_end:], stream.loss[full_end:], stream.comp[full_end:], stream.owner[full_end:],
        stream.segment[full_end:],
    )
    return blocks, tail


def _pack(examples: Sequence[Example], tokenized: Sequence[Tokenized], max_len: int) -> list[TrainSequence]:
    """Concatenate the examples and cut the stream into max_len blocks (the last may be shorter)."""
    if not tokenized:
        return []
    return _cut(_Stream.of(examples, tokenized), max_len, keep_tail=True)[0]


# ---------------------------------------------------------------- sampling


@dataclass
class SequenceStream:
    """Epoch-wise stream of training sequences from an example pool.

    The pool arrives already shuffled (seeded), so the first epoch reads it in order and may reuse
    `pretokenized` (the tokenization of its first examples, done once for the full-run estimate);
    later epochs follow permutations from `rng`.
    """

    pool: Sequence[Example]
    renderer: Renderer
    rng: np.random.Generator
    pretokenized: Sequence[Tokenized] = ()
    epochs_started: int = 0
    _order: list[int] = field(default_factory=list)
    _pending: list[TrainSequence] = field(default_factory=list)
    _carry: _Stream | None = None  # packing: tokens past the last full block, continued by the next chunk

    def take(self, count: int) -> list[TrainSequence]:
        out: list[TrainSequence] = []
        while len(out) < count:
            if not self._pending:
                self._refill()
            need = count - len(out)
            out.extend(self._pending[:need])
            del self._pending[:need]
        return out

    def _refill(self) -> None:
        if not self._order:
            first = self.epochs_started == 0
            self._order = (
                list(range(len(self.pool))) if first else self.rng.permutation(len(self.pool)).tolist()
            )
            self.epochs_started += 1
        # Packing needs a few examples per block: take a generous chunk at a time.
        chunk, self._order = self._order[:TOKENIZE_CHUNK], self._order[TOKENIZE_CHUNK:]
        examples = [self.pool[i] for i in chunk]
        tokenized = self._tokenized(chunk, examples)
        if not self.renderer.packing:
            self._pending = self.renderer.sequences(examples, tokenized)
            return
        stream = _Stream.of(examples, tokenized)
        if self._carry is not None:
            stream = self._carry + stream
        self._pending, self._carry = _cut(stream, self.renderer.max_len, keep_tail=False)

    def _tokenized(self, chunk: list[int], examples: list[Example]) -> list[Tokenized]:
        cached = len(self.pretokenized)
        if self.epochs_started == 1 and all(i < cached for i in chunk):
            return [self.pretokenized[i] for i in chunk]
        return self.renderer.tokenize(examples)


# ---------------------------------------------------------------- collation


@dataclass
class MicroBatch:
    input_ids: object  # torch.LongTensor (b, L)
    attention_mask: object  # torch.LongTensor (b, L)
    labels: object  # torch.LongTensor (b, L), IGNORE_INDEX where no loss
    completion: object  # torch.BoolTensor (b, L), answer tokens
    tokens: int  # non-padding tokens
    loss_tokens: int  # shifted labels that carry loss
    example_ids: list[tuple[str, ...]]
    # Packed micro-batches: per-row positions restarting at each example. The model is then called with
    # these and no attention mask, from which transformers builds a mask that keeps examples apart.
    position_ids: object | None = None  # torch.LongTensor (b, L)

    @property
    def size(self) -> int:
        return int(self.input_ids.shape[0])  # type: ignore[attr-defined]


@dataclass
class StepBatch:
    sequences: list[TrainSequence]
    micro: list[MicroBatch]

    @property
    def tokens(self) -> int:
        return sum(m.tokens for m in self.micro)

    @property
    def loss_tokens(self) -> int:
        return sum(m.loss_tokens for m in self.micro)


def collate(seqs: Sequence[TrainSequence], pad_id: int) -> MicroBatch:
    """Right-pad to the longest sequence; labels -100 on masked and padding positions."""
    import torch

    width = max(s.length for s in seqs)
    n = len(seqs)
    ids = np.full((n, width), pad_id, dtype=np.int64)
    attn = np.zeros((n, width), dtype=np.int64)
    labels = np.full((n, width), IGNORE_INDEX, dtype=np.int64)
    comp = np.zeros((n, width), dtype=bool)
    packed = any(s.position_ids is not None for s in seqs)
    pos = np.zeros((n, width), dtype=np.int64) if packed else None
    for row, s in enumerate(seqs):
        L = s.length
        ids[row, :L] = s.input_ids
        attn[row, :L] = 1
        labels[row, :L] = np.where(s.loss_mask, s.input_ids, IGNORE_INDEX)
        comp[row, :L] = s.completion_mask
        if pos is not None:
            own = s.position_ids if s.position_ids is not None else np.arange(L, dtype=np.int64)
            # Padding continues the last example's positions: causal attention keeps it out of real tokens.
            pos[row, :L] = own
            pos[row, L:] = (own[-1] + 1 if L else 0) + np.arange(width - L)
    return MicroBatch(
        torch.from_numpy(ids),
        torch.from_numpy(attn),
        torch.from_numpy(labels),
        torch.from_numpy(comp),
        tokens=int(attn.sum()),
        loss_tokens=int((labels[:, 1:] != IGNORE_INDEX).sum()),
        example_ids=[s.example_ids for s in seqs],
        position_ids=torch.from_numpy(pos) if pos is not None else None,
    )


def step_batches(
    sequences: Sequence[TrainSequence], *, per_step: int, micro: int, pad_id: int
) -> list[StepBatch]:
    """Group sequences into optimizer steps of `per_step`, each cut into micro-batches of `micro`."""
    steps = []
    for start in range(0, len(sequences) - per_step + 1, per_step):
        chunk = list(sequences[start : start + per_step])
        steps.append(
            StepBatch(chunk, [collate(chunk[i : i + micro], pad_id) for i in range(0, per_step, micro)])
        )
    return steps


def rebatch(steps: Sequence[StepBatch], micro: int, pad_id: int) -> list[StepBatch]:
    """The same steps with a smaller micro-batch (same sequences per step: more accumulation)."""
    return [
        StepBatch(
            s.sequences,
            [collate(s.sequences[i : i + micro], pad_id) for i in range(0, len(s.sequences), micro)],
        )
        for s in steps
    ]


def eval_batches(sequences: Sequence[TrainSequence], micro: int, pad_id: int) -> list[MicroBatch]:
    return [collate(sequences[i : i + micro], pad_id) for i in range(0, len(sequences), micro)]
