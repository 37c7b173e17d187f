"""The fast judge: a guess is rejected at its first clear misclassification.

Random weights misclassify about half of the samples, so the judge evaluates a
chunk on one training sample, then the survivors on the next one, and so on;
later stages take 2, 4, 8, ... samples at once, when few guesses are left and
the cost of a call matters more than the work wasted on doomed guesses.
Samples are taken class by class in turn, because a random network tends to
give every input the same class: after one sample of each class about 9% of
LeNet guesses are left. The loss of the survivors comes from the logits the
stages already computed.

Exactness: the probe's logits may differ from the reference's in the last bits
(:mod:`zoo.guessing.probes`). A guess is settled here only when its margin
(true logit minus the best other) is farther from zero than ``TOLERANCE``
times the probe's rounding scale, and its loss is as clearly inside or
outside the loss bin. Every closer call goes to the reference judge, which
decides it exactly as the baseline does; so the accepted set equals the
baseline's.
"""

from __future__ import annotations

import torch

from zoo.evaluate import LossBin, normalized_loss
from zoo.guessing.probes import probe_for

TOLERANCE = 1e-4  # about 100 times the largest difference seen between probe and reference
ROUND = 8  # survivors are padded to a multiple of this: few distinct shapes, so oneDNN compiles few kernels


def class_interleaved(y: torch.Tensor) -> torch.Tensor:
    """Sample order that takes one sample of each class in turn."""
    rank = torch.empty_like(y)
    for cls in y.unique():
        where = (y == cls).nonzero().flatten()
        rank[where] = torch.arange(len(where), device=y.device)
    return torch.argsort(rank * (int(y.max()) + 1) + y, stable=True)


def stages(n: int, first: int = 2) -> list[slice]:
    """Sample slices of sizes first, first, 2 first, 4 first, ... covering ``range(n)``."""
    out, start, size = [], 0, first
    while start < n:
        out.append(slice(start, min(n, start + size)))
        start, size = start + size, start + size
    return out


class EarlyRejectionJudge:
    """Accepts the same guesses as :class:`~zoo.guessing.reference.ReferenceJudge`, faster."""

    def __init__(self, model, x: torch.Tensor, y: torch.Tensor, loss_bin: LossBin | None, reference):
        order = class_interleaved(y)
        self.model, self.loss_bin, self.reference = model, loss_bin, reference
        self.y = y[order]
        self.probe = probe_for(model, x[order])
        self.truth = torch.nn.functional.one_hot(self.y, model.num_classes).bool()
        self.stages = stages(len(y))

    def margins(self, logits: torch.Tensor, samples: slice) -> torch.Tensor:
        """True logit minus the best other one, ``[S, g]``."""
        truth = self.truth[samples]
        true = logits.masked_fill(~truth, float("-inf")).amax(-1)
        return true - logits.masked_fill(truth, float("-inf")).amax(-1)

    def probe_alive(self, theta, alive, samples) -> tuple[torch.Tensor, torch.Tensor]:
        """The probe on the rows ``alive`` of ``theta`` (all of it when nothing was dropped yet)."""
        if len(alive) == len(theta):
            return self.probe(theta, samples)
        padded = torch.cat([alive, alive[-1:].expand(-len(alive) % ROUND)])
        logits, rounding = self.probe(theta.index_select(0, padded), samples)
        return logits[: len(alive)], rounding[: len(alive)]

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """Row indices (ascending) of the accepted guesses in ``theta``."""
        m, n = theta.shape[0], len(self.y)
        alive = torch.arange(m, device=theta.device)
        binned = self.loss_bin is not None
        if binned:
            logits = theta.new_empty(m, n, self.model.num_classes)
            rounding = theta.new_zeros(m)
        close = []
        for samples in self.stages:
            stage_logits, stage_rounding = self.probe_alive(theta, alive, samples)
            margin, band = self.margins(stage_logits, samples), TOLERANCE * stage_rounding
            wrong = (margin < -band).any(1)
            near = (margin.abs() <= band).any(1) & ~wrong
            close.append(alive[near])
            keep = ~(wrong | near)
            alive = alive[keep]
            if binned:
                logits[alive, samples] = stage_logits[keep]
                rounding[alive] = torch.maximum(rounding[alive], stage_rounding[keep].amax(1))
            if not len(alive):
                break
        if binned and len(alive):
            alive = self.settle_loss(theta, alive, logits[alive], rounding[alive], close)
        close = torch.cat(close)
        if len(close):
            alive = torch.cat([alive, close[self.reference(theta[close])]])
        return alive.sort().values

    def settle_loss(self, theta, alive, logits, rounding, close) -> torch.Tensor:
        """The survivors clearly inside the loss bin; those near an edge join ``close``."""
        scale = self.model.norm_scale(theta[alive])
        loss = normalized_loss(logits, scale, self.y)
        band = TOLERANCE * (rounding / scale + loss.abs())
        lo, hi = self.loss_bin
        near = ((loss - lo).abs() <= band) | ((loss - hi).abs() <= band)
        close.append(alive[near])
        return alive[(loss - lo > band) & (hi - loss > band)]
