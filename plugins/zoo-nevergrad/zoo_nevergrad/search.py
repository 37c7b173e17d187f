"""Nevergrad's ask/tell optimizers driving a zoo population.

One search is one nevergrad optimizer over the flat parameter vector of a
single model, confined to the box [-radius, radius]^P that Guess & Check
samples from and started at a uniform draw from it. Each round asks
``population`` candidates (nevergrad's ``num_workers``), evaluates them as
one population pass and tells nevergrad the number of misclassified training
samples plus the normalized train loss: fitting comes first (the loss alone
has minima that give up a sample for margin elsewhere), then the loss
descends through the bins it is defined on. A search stops at the first candidate
that the shared acceptance rule accepts (100% train accuracy and, with a
loss bin, a loss inside it) or when its ``budget`` of evaluations is spent.

A cell runs ``target`` independent searches and reports the accepted model
of each search that found one: ``tested`` counts searches, ``accepted``
successful ones (a success rate within the budget, as for the gradient
baselines, not a volume), ``forward_evals`` every candidate evaluated on the
training set (the cost counter pattern search reports too).
"""

from __future__ import annotations

import difflib
import warnings

import numpy as np
import torch

from zoo.api import Outcome, accepted, derive_seed, fit_and_loss


class NevergradSearch:
    def __init__(self, algorithm="OnePlusOne", budget=2000, population=32, radius=1.0, target=10):
        import nevergrad as ng  # here, not at the top: it takes seconds, and every zoo command loads this plugin

        if algorithm not in ng.optimizers.registry:
            close = difflib.get_close_matches(algorithm, list(ng.optimizers.registry), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"nevergrad has no optimizer {algorithm!r}{hint}; see nevergrad.optimizers.registry")
        if budget < 1 or population < 1 or radius <= 0 or target < 1:
            raise ValueError("nevergrad optimizers need budget >= 1, population >= 1, radius > 0 and target >= 1")
        self.algorithm, self.budget, self.population, self.radius, self.target = algorithm, budget, population, radius, target

    @torch.no_grad()
    def run(self, problem, model, ctx) -> Outcome:
        counters = {"forward_evals": 0, "tested": 0, "accepted": 0}
        found = []
        for search in range(self.target):
            hit = self.search(problem, model, ctx, search, counters)
            counters["tested"] += 1
            if hit is not None:
                found.append(hit)
                counters["accepted"] += 1
            ctx.progress(**counters)
        return _outcome(model, problem, found, counters, ctx)

    def search(self, problem, model, ctx, index, counters):
        """One nevergrad run; the first accepted ``(theta, acc, loss)`` rows, or None."""
        optimizer = self.optimizer(model.num_params, derive_seed(ctx.seed, "nevergrad", index) % 2**32)
        spent = 0
        while spent < self.budget:
            asked = [optimizer.ask() for _ in range(min(self.population, self.budget - spent))]
            theta = torch.as_tensor(np.stack([c.value for c in asked]), dtype=torch.float32, device=ctx.device)
            acc, loss = fit_and_loss(model, theta, problem.x_train, problem.y_train)
            spent += len(asked)
            counters["forward_evals"] += len(asked)
            hits = accepted(acc, loss, ctx.loss_bin).nonzero().flatten()
            if len(hits):
                first = hits[:1]
                ctx.trace(counters["forward_evals"], theta[first])
                return theta[first], acc[first], loss[first]
            objective = (1 - acc) * len(problem.y_train) + loss  # misclassified samples, then the loss
            best = int(objective.argmin())
            ctx.trace(counters["forward_evals"], theta[best : best + 1])  # the round's best candidate
            with warnings.catch_warnings():
                # cma's step-size diagnostics (the box folds mirrored samples) would flood the progress display
                warnings.filterwarnings("ignore", category=UserWarning, module="cma")
                for candidate, value in zip(asked, objective.tolist()):
                    optimizer.tell(candidate, value)
            ctx.progress(**counters)
        return None

    def optimizer(self, dim: int, seed: int):
        """A seeded nevergrad optimizer over the box, started at a uniform point in it."""
        import nevergrad as ng

        rng = np.random.RandomState(seed)
        r = self.radius
        space = ng.p.Array(init=rng.uniform(-r, r, dim)).set_mutation(sigma=r / 3)  # the box spans six sigmas
        space.set_bounds(-r, r, full_range_sampling=True)
        space.random_state = rng
        return ng.optimizers.registry[self.algorithm](parametrization=space, budget=self.budget, num_workers=self.population)


def _outcome(model, problem, found, counters, ctx) -> Outcome:
    theta, acc, loss = (torch.cat(parts) for parts in zip(*found)) if found else (torch.empty(0),) * 3
    return Outcome.of(model, problem, theta, counters, ctx, train=(acc, loss))
