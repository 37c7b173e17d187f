"""Guess & Check: draw every parameter i.i.d. from U[-r, r] until a draw fits.

Its only bias is volume: the chance that a guess lands in a region is that
region's share of the box [-r, r]^P. The machinery lives in
:mod:`zoo.guessing`: guess i comes from the cell seed and i alone, chunks of
``batch`` guesses are judged on ``threads`` threads, and the accepted guesses
are the first ``target`` of the stream that the acceptance rule admits, so
the result does not depend on ``batch``, ``threads`` or ``engine``, nor on
whether the walk was interrupted and resumed from a checkpoint or continued
from a smaller budget's (:mod:`zoo.guessing.walk`):

- ``engine = "fast"`` (default): early rejection, sample by sample
  (:mod:`zoo.guessing.early`); models it has no probe for use the reference.
- ``engine = "reference"``: every guess on all n samples, the reference
  implementation's design (:mod:`zoo.guessing.reference`).

``generator`` picks the source of random bits (:mod:`zoo.guessing.stream`):
``"philox"`` (default) is counter-based Philox4x32-10, the same numbers on
every device; ``"torch"`` is torch's own generator, as the reference
implementation draws. Both give every parameter i.i.d. uniform on the same
24-bit grid; they are different, equally reproducible sequences.

``shards = N`` cuts the stream into ranges of ``shard_size`` guesses and
judges N at a time on this process's threads (``shard_on = "threads"``) or
on Ray workers, one core each (``"ray"``: this machine's or a cluster's, see
docs/cluster.md); ranges are merged in stream order, so the result is the
same again, and a range whose worker fails or dies is judged again, up to
``retries`` times (:mod:`zoo.guessing.shards`).
"""

from __future__ import annotations

import uuid

import torch

from zoo.guessing.engines import ENGINES, default_chunk, default_workers, make_judge
from zoo.guessing.reference import fit_and_loss
from zoo.guessing.places import PLACES, make_place
from zoo.guessing.shards import ShardSpec, shard_size, sharded_search
from zoo.guessing.walk import Walk, walk_on
from zoo.guessing.stream import GENERATORS, ParameterStream
from zoo.hookspecs import hookimpl
from zoo.optimizer import Outcome
from zoo.registry import Param, PluginSpec


class GuessAndCheck:
    def __init__(self, radius=1.0, target=10, max_guesses=1_000_000, batch=0, engine="fast", threads=0, generator="philox",
                 shards=0, shard_size=0, shard_on="threads", retries=3):
        if radius <= 0 or target < 1 or max_guesses < 1 or batch < 0 or threads < 0:
            raise ValueError("guess_check needs radius > 0, target >= 1, max_guesses >= 1, batch >= 0 and threads >= 0")
        if shards < 0 or shard_size < 0 or retries < 0:
            raise ValueError("guess_check needs shards >= 0, shard_size >= 0 and retries >= 0")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        if generator not in GENERATORS:
            raise ValueError(f"generator must be one of {list(GENERATORS)}, got {generator!r}")
        if shard_on not in PLACES:
            raise ValueError(f"shard_on must be one of {list(PLACES)}, got {shard_on!r}")
        self.radius, self.target, self.max_guesses = radius, target, max_guesses
        self.batch, self.engine, self.threads, self.generator = batch, engine, threads, generator
        self.shards, self.shard_size, self.shard_on, self.retries = shards, shard_size, shard_on, retries

    def run(self, problem, model, ctx) -> Outcome:
        problem = problem.to(ctx.device)
        x, y = problem.x_train, problem.y_train
        stream = ParameterStream(model.num_params, self.radius, ctx.seed, ctx.device, self.generator)
        chunk = self.batch or default_chunk(self.engine, model.num_params)
        walked = ctx.resume(Walk.of)  # a killed run's progress, or another budget's
        if self.shards:
            result = self.sharded(stream, model, x, y, ctx, -(-chunk // stream.block) * stream.block, walked)
        else:
            result = walk_on(stream, make_judge(self.engine, model, x, y, ctx.loss_bin), walked, target=self.target,
                             max_guesses=self.max_guesses, chunk=chunk, workers=self.threads or default_workers(ctx.device),
                             progress=ctx.progress, checkpoint=ctx.checkpoint)
        final = walked if walked and walked.position >= result.tested else Walk(result.tested, result.indices)
        ctx.checkpoint(final.state, final=True)
        theta = result.theta.to(ctx.device)
        ctx.trace(result.tested, theta, final=True)  # no path to trace: the accepted guesses at their cost
        with torch.no_grad():  # the baseline's arithmetic, so every engine reports the same numbers
            train = fit_and_loss(model, theta, x, y) if len(theta) else None
        counters = {"tested": result.tested, "accepted": len(theta), "forward_evals": result.tested}  # a guess: one evaluation
        return Outcome.of(model, problem, theta, counters, ctx, train=train)

    def sharded(self, stream, model, x, y, ctx, chunk, walked):
        """The same search, its ranges judged ``shards`` at a time where ``shard_on`` says, from ``walked`` on."""
        spec = ShardSpec(uuid.uuid4().hex, model, x.cpu(), y.cpu(), ctx.loss_bin, self.engine, self.radius, stream.seed,
                         self.generator, str(ctx.device), self.target, chunk)
        size = shard_size(self.shard_size, chunk, self.max_guesses, self.shards)
        place = make_place(self.shard_on, spec, self.shards, cpus=self.threads or 1)
        try:
            return sharded_search(spec, place, max_guesses=self.max_guesses, size=size, parallel=self.shards,
                                  retries=self.retries, progress=ctx.progress, walk=walked, checkpoint=ctx.checkpoint)
        finally:
            place.close()


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
                "threads": Param(0, "search threads; 0: one per torch thread on the CPU, one on a GPU; "
                                 "with shard_on = ray: cores per range (0: one)"),
                "generator": Param("philox", "random bits: philox (the same on every device) or torch (as the reference)",
                                   choices=GENERATORS),
                "shards": Param(0, "ranges of the stream judged at once, merged in stream order; 0: one search in this "
                                "process", placement=True),
                "shard_size": Param(0, "guesses per range; 0: chosen from the chunk size and the budget", placement=True),
                "shard_on": Param("threads", "where ranges run: threads of this process, or ray workers (docs/cluster.md)",
                                  choices=PLACES, placement=True),
                "retries": Param(3, "times a range whose worker failed or died is judged again before the cell fails",
                                 placement=True),
            },
            "Guess & Check: uniform random guesses until one fits (volume only)",
            eval_budget=lambda evals, params: {"max_guesses": evals},  # one guess is one forward evaluation
        )
    ]
