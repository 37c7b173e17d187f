"""The fast judge: a guess is rejected at its first clear misclassification.

Random weights misclassify about half of the samples, so the judge evaluates a
chunk on the first two training samples, then the survivors on the next two,
then 4, 8, ... at once: few guesses are left by then, and the cost of a call
matters more than the work wasted on doomed guesses. Samples are taken class
by class in turn, because a random network tends to give every input the same
class: after one sample of each class about 9% of LeNet guesses are left.
The survivors' loss comes from the logits the stages already computed.

On the CPU, LeNet (a model whose class declares ``kernel_constants``) is
judged by a compiled kernel (:mod:`zoo.guessing.native`) that takes one guess
at a time through the samples, drawing its parameters first when the stream
is Philox, so that a guess never leaves the core's cache and a rejected one
costs a single forward pass; the torch stages above are its fallback and the
path on a GPU.

It decides by :mod:`zoo.guessing.verdict`, like the reference judge, so the
two accept the same guesses.
"""

from __future__ import annotations

import torch

from zoo.evaluate import LossBin
from zoo.guessing import native
from zoo.guessing.philox import step
from zoo.guessing.probes import probe_for, reference_probe
from zoo.guessing.verdict import TOLERANCE, Canonical, fit_verdict, settle
from zoo.population import declared

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

    def __init__(self, model, x: torch.Tensor, y: torch.Tensor, loss_bin: LossBin | None):
        order = class_interleaved(y)
        self.x, self.y = x[order].contiguous(), y[order].contiguous()
        self.model, self.loss_bin = model, loss_bin
        self.kernel = native.lenet_judge(model) if declared(model, "kernel_constants") and x.device.type == "cpu" else None
        self.probe = probe_for(model, self.x)
        self.canonical = Canonical(model, reference_probe, self.x, self.y, loss_bin)
        self.truth = torch.nn.functional.one_hot(self.y, model.num_classes).bool()
        self.stages = stages(len(y))

    def probe_alive(self, theta, alive, samples) -> tuple[torch.Tensor, torch.Tensor]:
        """The probe on the rows ``alive`` of ``theta`` (all of it when nothing was dropped yet)."""
        if len(alive) == len(theta):
            return self.probe(theta, samples)
        padded = torch.cat([alive, alive[-1:].expand(-len(alive) % ROUND)])
        logits, rounding = self.probe(theta.index_select(0, padded), samples)
        return logits[: len(alive)], rounding[: len(alive)]

    def draw_and_judge(self, stream, theta: torch.Tensor, first: int) -> torch.Tensor:
        """Draw guesses ``first ..`` of ``stream`` into ``theta`` and return the accepted rows."""
        if self.kernel is not None and stream.generator == "philox":
            return self.native(theta, (first, stream.key, stream.radius))
        return self(stream.fill(theta, first))

    def native(self, theta: torch.Tensor, draw=None) -> torch.Tensor:
        """The compiled judge; ``draw = (first, key, radius)`` fills ``theta`` with those guesses first."""
        rows, n = len(theta), len(self.y)
        first, key, radius = draw or (0, 0, 0.0)
        status = torch.empty(rows, dtype=torch.int8)
        logits, rounding = theta.new_empty(rows, n, self.model.num_classes), theta.new_empty(rows)
        self.kernel(theta.data_ptr(), rows, theta.shape[1], draw is not None, first, key, step(radius),
                    self.x.data_ptr(), n, self.y.data_ptr(), TOLERANCE, status.data_ptr(), logits.data_ptr(), rounding.data_ptr())
        index = torch.arange(rows)
        alive = index[status == 1]
        return settle(self.model, theta, alive, logits[alive], rounding[alive], self.y, self.loss_bin,
                      [index[status == 2]], self.canonical)

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """Row indices (ascending) of the accepted guesses in ``theta``."""
        if self.kernel is not None:
            return self.native(theta.contiguous())
        m, n = theta.shape[0], len(self.y)
        alive = torch.arange(m, device=theta.device)
        binned = self.loss_bin is not None
        if binned:
            logits = theta.new_empty(m, n, self.model.num_classes)
            rounding = theta.new_zeros(m)
        close = []
        for samples in self.stages:
            stage_logits, stage_rounding = self.probe_alive(theta, alive, samples)
            right, near = fit_verdict(stage_logits, stage_rounding, self.truth[samples])
            close.append(alive[near])
            alive = alive[right]
            if binned:
                logits[alive, samples] = stage_logits[right]
                rounding[alive] = torch.maximum(rounding[alive], stage_rounding[right].amax(1))
            if not len(alive):
                break
        if binned:
            logits, rounding = logits[alive], rounding[alive]
        return settle(self.model, theta, alive, logits if binned else None, rounding if binned else None,
                      self.y, self.loss_bin, close, self.canonical)
