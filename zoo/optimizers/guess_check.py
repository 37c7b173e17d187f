"""Guess & Check: draw every parameter i.i.d. from U[-r, r] until a draw fits.

Its only bias is volume: the chance that a guess lands in a region is that
region's share of the box [-r, r]^P. The machinery lives in
:mod:`zoo.guessing`: guess i comes from the cell seed and i alone, chunks of
``batch`` guesses are judged on ``threads`` threads, and the accepted guesses
are the first ``target`` of the stream that the acceptance rule admits, so
the result does not depend on ``batch``, ``threads`` or ``engine``:

- ``engine = "fast"`` (default): early rejection, sample by sample
  (:mod:`zoo.guessing.early`); models it has no probe for use the reference.
- ``engine = "reference"``: every guess on all n samples, the reference
  implementation's design (:mod:`zoo.guessing.reference`).

``generator`` picks the source of random bits (:mod:`zoo.guessing.stream`):
``"philox"`` (default) is counter-based Philox4x32-10, the same numbers on
every device; ``"torch"`` is torch's own generator, as the reference
implementation draws. Both give every parameter i.i.d. uniform on the same
24-bit grid; they are different, equally reproducible sequences.
"""

from __future__ import annotations

import torch

from zoo.guessing.engines import ENGINES, default_chunk, default_workers, make_judge
from zoo.guessing.reference import fit_and_loss
from zoo.guessing.search import search
from zoo.guessing.stream import GENERATORS, ParameterStream
from zoo.hookspecs import hookimpl
from zoo.optimizer import Outcome
from zoo.registry import Param, PluginSpec


class GuessAndCheck:
    def __init__(self, radius=1.0, target=10, max_guesses=1_000_000, batch=0, engine="fast", threads=0, generator="philox"):
        if radius <= 0 or target < 1 or max_guesses < 1 or batch < 0 or threads < 0:
            raise ValueError("guess_check needs radius > 0, target >= 1, max_guesses >= 1, batch >= 0 and threads >= 0")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        if generator not in GENERATORS:
            raise ValueError(f"generator must be one of {list(GENERATORS)}, got {generator!r}")
        self.radius, self.target, self.max_guesses = radius, target, max_guesses
        self.batch, self.engine, self.threads, self.generator = batch, engine, threads, generator

    def run(self, problem, model, ctx) -> Outcome:
        problem = problem.to(ctx.device)
        x, y = problem.x_train, problem.y_train
        result = search(
            ParameterStream(model.num_params, self.radius, ctx.seed, ctx.device, self.generator),
            make_judge(self.engine, model, x, y, ctx.loss_bin),
            target=self.target,
            max_guesses=self.max_guesses,
            chunk=self.batch or default_chunk(self.engine, model.num_params),
            workers=self.threads or default_workers(ctx.device),
            progress=ctx.progress,
        )
        theta = result.theta
        ctx.trace(result.tested, theta, final=True)  # no path to trace: the accepted guesses at their cost
        with torch.no_grad():  # the baseline's arithmetic, so every engine reports the same numbers
            train = fit_and_loss(model, theta, x, y) if len(theta) else None
        counters = {"tested": result.tested, "accepted": len(theta), "forward_evals": result.tested}  # a guess: one evaluation
        return Outcome.of(model, problem, theta, counters, ctx, train=train)


@hookimpl
def zoo_optimizers():
    return [
        PluginSpec(
            "guess_check",
            GuessAndCheck,
            {
                "radius": Param(1.0, "every parameter of a guess is uniform in [-radius, radius]"),
                "target": Param(10, "accepted guesses to collect", budget=True),
                "max_guesses": Param(1_000_000, "stop after this many guesses", budget=True),
                "batch": Param(0, "guesses judged per chunk; 0: chosen from the engine and model size (results do not change)"),
                "engine": Param("fast", "fast: early rejection sample by sample; reference: every guess on all samples "
                                "(both accept the same guesses)", choices=ENGINES),
                "threads": Param(0, "search threads; 0: one per torch thread on the CPU, one on a GPU"),
                "generator": Param("philox", "random bits: philox (the same on every device) or torch (as the reference)",
                                   choices=GENERATORS),
            },
            "Guess & Check: uniform random guesses until one fits (volume only)",
            eval_budget=lambda evals, params: {"max_guesses": evals},  # one guess is one forward evaluation
        )
    ]
