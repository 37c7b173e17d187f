"""The reference judge: every guess evaluated on all n training samples.

This is the design of the reference implementation, kept plain on purpose: it
is the baseline that ``zoo speed`` measures the fast judge against. It
computes with the model's reference probe (LeNet: one grouped convolution
per layer across the population, its first layer over the input repeated
once per model; the dense models: one matrix product per layer, the
computation of their own ``forward``) and decides by
:mod:`zoo.guessing.verdict`; a model without a probe (a third party's) is
judged by :func:`zoo.evaluate.accepted` in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.evaluate import LossBin, accepted, accuracy, normalized_loss
from zoo.guessing.probes import reference_probe
from zoo.guessing.verdict import Canonical, fit_verdict, settle


def fit_and_loss(model, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Train accuracy and normalized train loss of every guess, the reference way."""
    probe = reference_probe(model, x)
    logits = probe(theta, slice(None))[0] if probe else model.forward(theta, x)
    return accuracy(logits, y), normalized_loss(logits, model.norm_scale(theta), y)


class ReferenceJudge:
    """Accepts the guesses that fit all n samples and land in the loss bin."""

    def __init__(self, model, x: torch.Tensor, y: torch.Tensor, loss_bin: LossBin | None):
        self.model, self.x, self.y, self.loss_bin = model, x, y, loss_bin
        self.probe = reference_probe(model, x)
        if self.probe:
            self.truth = F.one_hot(y, model.num_classes).bool()
            self.canonical = Canonical(model, reference_probe, x, y, loss_bin)

    def draw_and_judge(self, stream, theta: torch.Tensor, first: int) -> torch.Tensor:
        """Draw guesses ``first ..`` of ``stream`` into ``theta`` and return the accepted rows."""
        return self(stream.fill(theta, first))

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """Row indices (ascending) of the accepted guesses in ``theta``."""
        if not self.probe:
            acc, loss = fit_and_loss(self.model, theta, self.x, self.y)
            return accepted(acc, loss, self.loss_bin).nonzero().flatten()
        logits, rounding = self.probe(theta, slice(None))
        right, close = fit_verdict(logits, rounding, self.truth)
        rows = torch.arange(len(theta), device=theta.device)
        return settle(self.model, theta, rows[right], logits[right], rounding[right].amax(1), self.y, self.loss_bin,
                      [rows[close]], self.canonical)
