"""Cheap per-step measurements of the trainable weights and their gradients.

Every step: per-tensor gradient norms in one fused call (`torch._foreach_norm`), from which the
total norm (also used for clipping, so it is computed once), and the norms of the first and last
transformer blocks follow. Every few steps ("measured steps"): the update-to-weight ratio (needs a
copy of the weights before the update) and the gradient-noise / agreement statistics (need a copy
of the gradient of the first part of the batch).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch

_LAYER = re.compile(r"\.(?:layers|h|blocks|block)\.(\d+)\.")


@dataclass
class GradStats:
    total: torch.Tensor  # 0-d, for clipping
    total_value: float
    first: float
    last: float


@dataclass
class NoiseStats:
    grad_sq_small: float
    grad_sq_big: float
    batch_small: float
    batch_big: float
    cosine: float


class Instrument:
    def __init__(self, trainable: list[tuple[str, torch.nn.Parameter]]):
        self.names = [n for n, _ in trainable]
        self.params = [p for _, p in trainable]
        layers = [(_LAYER.search(n), i) for i, n in enumerate(self.names)]
        ids = [(int(m.group(1)), i) for m, i in layers if m]
        if ids:
            lo, hi = min(k for k, _ in ids), max(k for k, _ in ids)
            self.first_idx = [i for k, i in ids if k == lo]
            self.last_idx = [i for k, i in ids if k == hi]
        else:
            self.first_idx = self.last_idx = []

    def grads(self) -> list[torch.Tensor]:
        # A trainable tensor the forward pass did not reach has no gradient: count it as zero.
        return [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]

    def grad_stats(self) -> GradStats:
        return self.summarise_norms(list(torch._foreach_norm(self.grads())))

    def summarise_norms(self, norms: list[torch.Tensor]) -> GradStats:
        """The total and the first and last blocks' norms from per-weight gradient norms (0-d tensors)."""
        if not norms:
            return GradStats(torch.tensor(0.0), 0.0, math.nan, math.nan)
        stacked = torch.stack(norms)
        total = torch.linalg.vector_norm(stacked)
        # The first and last blocks' norms in the same read-out as the total: one host copy per step.
        parts = [total]
        for idx in (self.first_idx, self.last_idx):
            if idx:
                parts.append(torch.linalg.vector_norm(stacked[idx]))
        values = torch.stack(parts).tolist()
        first = values[1] if self.first_idx else math.nan
        last = values[-1] if self.last_idx else math.nan
        return GradStats(total=total, total_value=values[0], first=first, last=last)

    def clip(self, max_norm: float, stats: GradStats) -> None:
        torch.nn.utils.clip_grads_with_norm_(self.params, max_norm, stats.total)

    # ---- measured steps (flat copies: a handful of large ops instead of one per tensor)

    def flat_grads(self) -> torch.Tensor:
        return torch.cat([g.reshape(-1) for g in self.grads()])

    def noise(self, small: torch.Tensor, n_small: int, n_big: int, big_scale: float = 1.0) -> NoiseStats | None:
        """Statistics of the first part of the batch (flat gradient `small`) vs the whole (current grads).

        Gradients are of sum-loss / n_big, so the token-mean gradient of the small part is
        small · n_big / n_small and that of the whole batch is the current gradient itself (times
        `big_scale` when the current gradients were already clipped: 1 / the clipping factor).
        """
        if not 0 < n_small < n_big:
            return None
        big = self.flat_grads()
        if big_scale != 1.0:
            big = big * big_scale
        a2, g2, ag = torch.stack([torch.dot(small, small), torch.dot(big, big), torch.dot(small, big)]).tolist()
        b2 = g2 - 2 * ag + a2  # |big - small|²: the rest of the batch
        cosine = (ag - a2) / math.sqrt(a2 * b2) if a2 > 0 and b2 > 0 else math.nan
        scale = n_big / n_small
        return NoiseStats(a2 * scale * scale, g2, float(n_small), float(n_big), cosine)

    def flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def update_stats(self, before: torch.Tensor) -> tuple[float, float, float]:
        """(norm before, norm after, norm of the update) of the trainable weights."""
        after = self.flat_params()
        norms = torch.stack([torch.linalg.vector_norm(v) for v in (before, after, after - before)]).tolist()
        return norms[0], norms[1], norms[2]
