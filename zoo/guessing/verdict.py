"""How a judge decides: clear calls in float32, close calls in float64.

The acceptance rule is :func:`zoo.evaluate.accepted`: every training sample
classified right (argmax of the logits, the first of equal maxima) and the
normalized loss in the bin (lo, hi]. Computed in float32, a decision whose
margin (true logit minus the best other) or loss lies within rounding of its
threshold could come out either way, depending on how many guesses share a
batch or how the library splits a product. So every decision is made twice
as carefully as it needs to be:

- clear calls: the margin is farther from zero than ``TOLERANCE`` times the
  rounding scale of the logits (the sum over classes of |W| h + |b| through the
  last layer), and the loss as clearly inside or outside the bin. The float32
  error stays below 1e-6 of that scale (docs/speed.md), so these decisions
  are the exact-arithmetic ones.
- close calls go to :class:`Canonical`, which evaluates that guess alone in
  float64.

The reference judge and the fast judge both decide this way, so they accept
the same guesses, and neither depends on the chunk size or the thread count.
"""

from __future__ import annotations

import torch

from zoo.evaluate import LossBin, accepted, accuracy, normalized_loss

TOLERANCE = 1e-4  # about 100 times the largest float32 difference seen between two ways of computing the logits


def margins(logits: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """True logit minus the best other one, ``[S, g]``, for one-hot ``truth[g, C]``."""
    true = logits.masked_fill(~truth, float("-inf")).amax(-1)
    return true - logits.masked_fill(truth, float("-inf")).amax(-1)


def fit_verdict(logits: torch.Tensor, rounding: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per guess: ``right`` (every sample clearly right) and ``close`` (none clearly wrong, some too close to call)."""
    margin, band = margins(logits, truth), TOLERANCE * rounding
    wrong = (margin < -band).any(1)
    close = (margin.abs() <= band).any(1) & ~wrong
    return ~(wrong | close), close


def loss_verdict(loss: torch.Tensor, band: torch.Tensor, loss_bin: LossBin) -> tuple[torch.Tensor, torch.Tensor]:
    """Per guess: ``inside`` (clearly in the bin) and ``close`` (too close to an edge to call)."""
    lo, hi = loss_bin
    close = ((loss - lo).abs() <= band) | ((loss - hi).abs() <= band)
    return (loss - lo > band) & (hi - loss > band), close


class Canonical:
    """Decides close calls: each guess alone, in float64, by the acceptance rule itself."""

    def __init__(self, model, probe_for, x: torch.Tensor, y: torch.Tensor, loss_bin: LossBin | None):
        self.model, self.y, self.loss_bin = model, y, loss_bin
        self.probe = probe_for(model, x.double())

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """Boolean mask over the rows of ``theta``."""
        keep = torch.zeros(len(theta), dtype=torch.bool, device=theta.device)
        for i, row in enumerate(theta.double()):
            logits, _ = self.probe(row[None], slice(None))
            loss = normalized_loss(logits, self.model.norm_scale(row[None]), self.y)
            keep[i] = accepted(accuracy(logits, self.y), loss, self.loss_bin)[0]
        return keep


def settle(model, theta, alive, logits, rounding, y, loss_bin, close: list, canonical: Canonical) -> torch.Tensor:
    """The accepted rows of ``theta``, ascending.

    ``alive``: rows clearly right on every sample, with their ``logits[S, n, C]``
    (samples in the order of ``y``) and largest rounding scale ``rounding[S]``;
    ``close``: index tensors of rows with a close call so far.
    """
    if loss_bin is not None and len(alive):
        scale = model.norm_scale(theta[alive])
        loss = normalized_loss(logits, scale, y)
        inside, near = loss_verdict(loss, TOLERANCE * (rounding / scale + loss.abs()), loss_bin)
        close = [*close, alive[near]]
        alive = alive[inside]
    close = torch.cat(close)
    if len(close):
        alive = torch.cat([alive, close[canonical(theta[close])]])
    return alive.sort().values
