"""Pattern search: move one coordinate by +-step; halve the step after a full pass without gain.

The 2P moves (each parameter up or down) are visited in a random order, a
population of them per round, each candidate a copy of the current point
with one coordinate moved. The best candidate is taken if it lowers the
objective; the move list is then reshuffled and the pass starts over. When
all 2P moves were tried without improvement the step halves (by ``shrink``)
and a new shuffled pass begins. The reference evaluates ``budget // n``
models per round (``population = 0``; budget 10,000 on MNIST, 50,000 on
CIFAR-10), starts from U[-1, 1] with step 1 and caps the search at 80,000
steps.
"""

from __future__ import annotations

import torch

from zoo.hookspecs import hookimpl
from zoo.optimizers.local_search import BUDGET_HELP, COMMON, LocalSearch, Moves, spend_on_searches
from zoo.registry import Param, PluginSpec


class CoordinateMoves(Moves):
    """The shuffled list of 2P signed coordinate moves and the position in the current pass."""

    def __init__(self, step, shrink, num_params, gen):
        super().__init__(step, shrink)
        self.num_params, self.gen = num_params, gen
        self.shuffle()

    def shuffle(self):
        self.order = torch.randperm(2 * self.num_params, generator=self.gen, device=self.gen.device)
        self.position = 0

    def propose_moves(self, count):
        """The next ``count`` moves of the pass as (coordinate ``[k]``, signed step ``[k]``)."""
        picks = self.order[self.position : self.position + count]
        self.position += len(picks)
        return picks // 2, (1.0 - 2.0 * (picks % 2).float()) * self.step

    def propose(self, point, count):
        index, delta = self.propose_moves(count)
        candidates = point.repeat(len(index), 1)
        candidates[torch.arange(len(index), device=point.device), index] += delta.to(point.dtype)
        return candidates

    def state(self):
        return {**super().state(), "order": self.order, "position": self.position}

    def restore(self, state):
        super().restore(state)
        order, position = state["order"].to(self.order.device), int(state["position"])
        if order.shape != self.order.shape or not 0 <= position <= len(order):
            raise ValueError("a move list of another length")
        self.order, self.position = order, position

    def improved(self):
        self.shuffle()

    def stalled(self):
        if self.position >= len(self.order):
            self.shrink_step()
            self.shuffle()


class PatternSearch(LocalSearch):
    def __init__(self, budget=10_000, **params):
        super().__init__(budget, **params)

    def moves(self, num_params, gen):
        return CoordinateMoves(self.step, self.shrink, num_params, gen)


@hookimpl
def zoo_optimizers():
    return [
        PluginSpec(
            "pattern_search",
            PatternSearch,
            {"budget": Param(10_000, BUDGET_HELP), **COMMON},
            "pattern search: best of a population of +-step coordinate moves; step halves after a full pass without gain",
            eval_budget=spend_on_searches,
        )
    ]
