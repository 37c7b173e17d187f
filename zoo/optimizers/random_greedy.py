"""Random greedy search: add N(0, r^2) noise to every parameter; halve r after a run of failures.

Each round evaluates a population of candidates ``point + r * N(0, I)`` and
moves to the best if it lowers the objective. After ``patience`` rounds in a
row without improvement r halves (by ``shrink``). The reference evaluates
``budget // n`` models per round (``population = 0``; budget 200,000 on
MNIST, 100,000 on CIFAR-10), starts from U[-1, 1] with r = 1, patience 100,
and caps the search at 80,000 steps.
"""

from __future__ import annotations

import torch

from zoo.hookspecs import hookimpl
from zoo.optimizers.local_search import BUDGET_HELP, COMMON, LocalSearch, Moves, spend_on_searches
from zoo.registry import Param, PluginSpec


class GaussianMoves(Moves):
    """Isotropic Gaussian perturbations and the count of rounds since the last improvement."""

    def __init__(self, step, shrink, patience, gen):
        super().__init__(step, shrink)
        self.patience, self.gen, self.failures = patience, gen, 0

    def propose(self, point, count):
        noise = torch.randn(count, point.shape[1], generator=self.gen, device=point.device, dtype=point.dtype)
        return noise.mul_(self.step).add_(point)

    def state(self):
        return {**super().state(), "failures": self.failures}

    def restore(self, state):
        super().restore(state)
        self.failures = int(state["failures"])

    def improved(self):
        self.failures = 0

    def stalled(self):
        self.failures += 1
        if self.failures >= self.patience:
            self.shrink_step()
            self.failures = 0


class RandomGreedySearch(LocalSearch):
    check_fraction = 300  # the reference checks train accuracy every max_steps // 300 steps

    def __init__(self, budget=200_000, patience=100, **params):
        if patience < 1:
            raise ValueError("random_greedy needs patience >= 1")
        super().__init__(budget, **params)
        self.patience = patience

    def moves(self, num_params, gen):
        return GaussianMoves(self.step, self.shrink, self.patience, gen)


@hookimpl
def zoo_optimizers():
    return [
        PluginSpec(
            "random_greedy",
            RandomGreedySearch,
            {"budget": Param(200_000, BUDGET_HELP), **COMMON,
             "patience": Param(100, "rounds without improvement before the step shrinks")},
            "random greedy search: best of a population of Gaussian perturbations; r halves after `patience` failed rounds",
            eval_budget=spend_on_searches,
        )
    ]
