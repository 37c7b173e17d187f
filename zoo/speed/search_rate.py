"""Rounds per second of pattern search and random greedy search, reference design against zoo, as ``zoo speed --search`` measures them.

Both engines run the same search (same seed, same moves, same steps) from
the same initial point, on Table 4's setting:
ten-class MNIST or CIFAR-10, LeNet-1, the reference's candidates per round
(``budget // n - 1``, budget by task as in the reference's configurations).
Measurements alternate between the engines, so both see the same load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from zoo.optimizer import Context
from zoo.optimizers.pattern_search import PatternSearch
from zoo.optimizers.random_greedy import RandomGreedySearch

SEARCHES = {"pattern_search": PatternSearch, "random_greedy": RandomGreedySearch}
# The reference's models x samples per round in its Table 4 configurations.
BUDGETS = {("pattern_search", "mnist"): 10_000, ("pattern_search", "cifar10"): 50_000,
           ("random_greedy", "mnist"): 200_000, ("random_greedy", "cifar10"): 100_000}
ENGINES = ("reference", "fast")


@dataclass(frozen=True)
class RoundRate:
    per_second: float  # rounds per second of wall time
    cpu_ms: float  # CPU milliseconds per round, all threads of the process together
    steps: int  # rounds that moved the point


class SearchRate:
    """One search engine on one problem: ``run(rounds)`` times that many rounds from the seed's initial point."""

    def __init__(self, optimizer: str, engine: str, model, problem, budget: int, seed: int = 0, device="cpu"):
        self.optimizer, self.engine, self.model, self.seed, self.device = optimizer, engine, model, seed, device
        self.problem, self.budget = problem.to(device), budget
        self.candidates = max(1, budget // len(problem.y_train) - 1)

    def run(self, rounds: int) -> RoundRate:
        search = SEARCHES[self.optimizer](budget=self.budget, engine=self.engine, max_steps=10**9,
                                          max_evals=rounds * self.candidates + 1)
        began, cpu = time.perf_counter(), time.process_time()
        outcome = search.run(self.problem, self.model, Context(seed=self.seed, device=self.device))
        wall, done = time.perf_counter() - began, outcome.counters["rounds"]
        return RoundRate(done / wall, (time.process_time() - cpu) / done * 1e3, int(outcome.counters["steps"]))


def side_by_side(optimizer: str, model, problem, budget: int, seconds: float, repeats: int, seed: int = 0,
                 device="cpu") -> dict:
    """Both engines, alternating ``repeats`` times; the best of each counts.

    Each engine runs the same search from its first round for about
    ``seconds``; the faster one gets further along it, so the rounds it is
    timed on include the ones the slower engine is timed on.
    """
    engines = {name: SearchRate(optimizer, name, model, problem, budget, seed, device) for name in ENGINES}
    rounds = {}
    for name, engine in engines.items():
        engine.run(1)  # oneDNN compiles its kernels for these shapes
        rounds[name] = max(2, int(seconds * engine.run(2 if name == "reference" else 10).per_second))
    measured = {name: [] for name in ENGINES}
    for _ in range(repeats):
        for name, engine in engines.items():
            measured[name].append(engine.run(rounds[name]))
    best = {name: max(rate.per_second for rate in values) for name, values in measured.items()}
    return {"optimizer": optimizer, "n": len(problem.y_train), "candidates": engines["fast"].candidates, "rounds": rounds,
            "steps": {name: [rate.steps for rate in values] for name, values in measured.items()}, "best": best, "ratio": best["fast"] / best["reference"],
            "per_second": {name: [rate.per_second for rate in values] for name, values in measured.items()},
            "cpu_ms_per_round": {name: min(rate.cpu_ms for rate in values) for name, values in measured.items()}}
