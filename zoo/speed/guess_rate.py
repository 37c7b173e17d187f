"""Guesses per second of a Guess & Check engine, as ``zoo speed`` and asv measure it.

A measurement runs the real search loop (drawing, judging, bookkeeping) over a
fixed number of guesses with a target it cannot reach, after a warm-up that
lets oneDNN compile its kernels for the shapes in use. :class:`ShardedThroughput`
does the same for a sharded search on Ray workers, with 1 or more ranges at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from zoo.guessing.engines import default_chunk, default_workers, make_judge
from zoo.guessing.places import RayPlace, ThreadPlace
from zoo.guessing.search import search
from zoo.guessing.shards import ShardSpec, sharded_search
from zoo.guessing.stream import ParameterStream


@dataclass(frozen=True)
class Rate:
    per_second: float  # guesses per second of wall time
    cpu_us: float  # CPU microseconds per guess, all threads of the process together


class Throughput:
    """One engine on one problem: ``rate(guesses)`` runs the search and returns guesses per second."""

    def __init__(self, engine: str, model, problem, loss_bin=None, seed: int = 0, device="cpu", generator: str = "philox",
                 chunk: int = 0, workers: int = 0, radius: float = 1.0):
        problem = problem.to(device)
        self.judge = make_judge(engine, model, problem.x_train, problem.y_train, loss_bin)
        self.stream = ParameterStream(model.num_params, radius, seed, device, generator)
        self.chunk = chunk or default_chunk(engine, model.num_params)
        self.workers = workers or default_workers(device)

    def run(self, guesses: int) -> Rate:
        return self.pilot(guesses)[0]

    def pilot(self, guesses: int) -> tuple[Rate, int]:
        """The rate over the first ``guesses`` of the stream, and how many of them the judge accepted."""
        began, cpu = time.perf_counter(), time.process_time()
        result = search(self.stream, self.judge, target=guesses + 1, max_guesses=guesses, chunk=self.chunk,
                        workers=self.workers)
        rate = Rate(guesses / (time.perf_counter() - began), (time.process_time() - cpu) / guesses * 1e6)
        return rate, len(result.theta)

    def warm_up(self, seconds: float = 0.5) -> float:
        """Run a few chunks until ``seconds`` have passed; returns the last guesses/s, a first estimate."""
        began, rate = time.perf_counter(), 0.0
        while time.perf_counter() - began < seconds:
            rate = self.run(2 * self.workers * self.chunk).per_second
        return rate


class ShardedThroughput:
    """A sharded search, ``rate(guesses, parallel)`` in guesses per second, on Ray workers (the driver connected) or threads.

    Each measurement cuts ``guesses`` into ``4 * parallel`` ranges, so that
    every worker gets the same share.
    """

    def __init__(self, model, problem, loss_bin=None, seed: int = 0, on: str = "ray"):
        chunk = default_chunk("fast", model.num_params)
        self.spec = ShardSpec(f"throughput-{seed}", model, problem.x_train, problem.y_train, loss_bin, "fast", 1.0, seed,
                              "philox", "cpu", 2**62, chunk)
        self.on = on
        self.ray = RayPlace(self.spec) if on == "ray" else None

    def rate(self, guesses: int, parallel: int) -> float:
        size = -(-guesses // (4 * parallel * self.spec.chunk)) * self.spec.chunk
        place = self.ray or ThreadPlace(self.spec, parallel)
        began = time.perf_counter()
        try:
            sharded_search(self.spec, place, max_guesses=4 * parallel * size, size=size, parallel=parallel, retries=0)
        finally:
            place.close()
        return 4 * parallel * size / (time.perf_counter() - began)
