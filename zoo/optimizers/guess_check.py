"""Guess & Check: draw every parameter i.i.d. from U[-r, r] until a draw fits.

Its only bias is volume: the chance that a guess lands in a region is that
region's share of the box [-r, r]^P. Guesses are drawn in chunks of
``batch`` models and evaluated in one batched forward pass.
"""

from __future__ import annotations

import time

import torch

from zoo.evaluate import accepted, fit_and_loss, test_accuracy
from zoo.hookspecs import hookimpl
from zoo.optimizer import Outcome
from zoo.registry import PluginSpec


class GuessAndCheck:
    def __init__(self, radius=1.0, target=10, max_guesses=1_000_000, batch=1024):
        if radius <= 0 or target < 1 or max_guesses < 1 or batch < 1:
            raise ValueError("guess_check needs radius > 0, target >= 1, max_guesses >= 1 and batch >= 1")
        self.radius, self.target, self.max_guesses, self.batch = radius, target, max_guesses, batch

    @torch.no_grad()
    def run(self, problem, model, ctx) -> Outcome:
        gen = ctx.generator("guesses")
        x, y = problem.x_train, problem.y_train
        found, n_found, tested, start = [], 0, 0, time.perf_counter()
        while tested < self.max_guesses and n_found < self.target:
            m = min(self.batch, self.max_guesses - tested)
            theta = model.init_uniform(m, self.radius, gen, device=ctx.device)
            acc, loss = fit_and_loss(model, theta, x, y)
            hits = accepted(acc, loss, ctx.loss_bin).nonzero().flatten()
            need = self.target - n_found
            if len(hits) >= need:
                hits = hits[:need]
                tested += int(hits[-1]) + 1  # guesses after the last needed hit were never required
            else:
                tested += m
            if len(hits):
                found.append((theta[hits], acc[hits], loss[hits]))
                n_found += len(hits)
            ctx.progress(tested=tested, accepted=n_found, rate=tested / max(time.perf_counter() - start, 1e-9))
        return _outcome(model, problem, found, tested, ctx)


def _outcome(model, problem, found, tested, ctx) -> Outcome:
    if found:
        theta = torch.cat([t[0] for t in found])
        acc = torch.cat([t[1] for t in found])
        loss = torch.cat([t[2] for t in found])
        test = test_accuracy(model, theta, problem.x_test, problem.y_test)
    else:
        theta, acc, loss, test = None, torch.empty(0), torch.empty(0), torch.empty(0)
    return Outcome(
        test_acc=test.tolist(),
        train_acc=acc.tolist(),
        train_loss=loss.tolist(),
        counters={"tested": tested, "accepted": len(test)},
        params=theta.cpu() if ctx.keep_params and theta is not None else None,
    )


@hookimpl
def zoo_optimizers():
    return [
        PluginSpec(
            "guess_check",
            GuessAndCheck,
            {"radius": 1.0, "target": 10, "max_guesses": 1_000_000, "batch": 1024},
            "Guess & Check: uniform random guesses until one fits (volume only)",
        )
    ]
