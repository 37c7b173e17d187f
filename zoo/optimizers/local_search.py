"""Greedy local search from one point: the loop pattern search and random greedy search share.

Each round proposes a population of candidates around the current point,
evaluates them in batched forward passes and moves to the best one if it
lowers the objective strictly; that move is one *step*. A :class:`Moves`
object decides what the candidates are and when the step size shrinks.

The objective is, as in the reference implementation, the normalized train
loss (``objective = "normalized"``): the cross-entropy of the logits divided
by the model's norm scale. ``"cross_entropy"`` minimizes the plain loss
instead. Either way the reported train loss is the normalized one, so the
acceptance rule of :mod:`zoo.evaluate` applies unchanged.

A search stops when the point fits every training sample (and, with a loss
bin, its normalized loss is at or below the bin's upper edge), after
``max_steps`` steps, after ``max_evals`` candidate evaluations (0: no cap),
or when the step size falls below ``min_step``. The last is a safeguard the
reference lacks: there a search that can no longer improve halves its step
forever.
"""

from __future__ import annotations

import time

import torch

from zoo.evaluate import accepted, accuracy, fit_and_loss, normalized_loss
from zoo.optimizer import Outcome
from zoo.population import INITS
from zoo.registry import Param

OBJECTIVES = ("normalized", "cross_entropy")
SAMPLE_BUDGET = 4096  # models x samples per forward pass; bounds activation memory, not results


class Moves:
    """Proposal scheme of one search: candidates, step size and when it shrinks."""

    def __init__(self, step: float, shrink: float):
        self.step, self.shrink, self.shrinks = step, shrink, 0

    def propose(self, point: torch.Tensor, count: int) -> torch.Tensor:
        """Up to ``count`` candidates ``[k, P]`` around ``point[1, P]``; none ends the round early."""
        raise NotImplementedError

    def improved(self) -> None:
        """The round found a better point and the search moved there."""

    def stalled(self) -> None:
        """The round found nothing better."""

    def shrink_step(self) -> None:
        self.step *= self.shrink
        self.shrinks += 1


class LocalSearch:
    """Shared settings and loop; subclasses build their :class:`Moves` and set the reference budget.

    ``population`` is the number of candidates per round; 0 takes the
    reference's rule, ``budget // n - 1`` (the reference evaluates
    ``budget // n`` models per round, the first of them the current point).
    ``restarts`` runs that many independent searches; each reports its final
    point.
    """

    def __init__(self, budget, step=1.0, shrink=0.5, max_steps=80_000, population=0, max_evals=0, min_step=1e-8,
                 restarts=1, init="uniform", radius=1.0, objective="normalized"):
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
        if step <= 0 or not 0 < shrink < 1 or radius <= 0 or min_step < 0:
            raise ValueError("needs step > 0, 0 < shrink < 1, radius > 0 and min_step >= 0")
        if budget < 1 or max_steps < 1 or population < 0 or max_evals < 0 or restarts < 1:
            raise ValueError("needs budget >= 1, max_steps >= 1, population >= 0 (0: reference rule), max_evals >= 0 (0: no cap) and restarts >= 1")
        self.budget, self.step, self.shrink, self.max_steps, self.population = budget, step, shrink, max_steps, population
        self.max_evals, self.min_step, self.restarts = max_evals, min_step, restarts
        self.init, self.radius, self.objective = init, radius, objective

    def moves(self, num_params: int, gen: torch.Generator) -> Moves:
        raise NotImplementedError

    def candidates_per_round(self, n: int) -> int:
        return self.population or max(1, self.budget // n - 1)

    @torch.no_grad()
    def run(self, problem, model, ctx) -> Outcome:
        start = time.perf_counter()
        init_gen, move_gen = ctx.generator("init"), ctx.generator("moves")
        counters = {"tested": 0, "accepted": 0, "steps": 0, "rounds": 0, "forward_evals": 0, "head_evals": 0, "shrinks": 0}
        finals = []
        for _ in range(self.restarts):
            point = self.search(problem, model, ctx, init_gen, move_gen, counters, start)
            finals.append(point)
            counters["tested"] += 1
        theta = torch.cat(finals)
        acc, loss = fit_and_loss(model, theta, problem.x_train, problem.y_train)
        counters["accepted"] = int(accepted(acc, loss, ctx.loss_bin).sum())
        counters["seconds"] = time.perf_counter() - start
        return Outcome.of(model, problem, theta, counters, ctx, train=(acc, loss))

    def search(self, problem, model, ctx, init_gen, move_gen, counters, start) -> torch.Tensor:
        """One search from a fresh initial point; returns the final point ``[1, P]``."""
        x, y = problem.x_train, problem.y_train
        point = model.initial(self.init, 1, self.radius, init_gen, device=ctx.device)
        acc, loss, norm_loss = self.score(model, model.forward(point, x), point, y)
        moves, evals, steps = self.moves(model.num_params, move_gen), 1, 0
        per_round, chunk = self.candidates_per_round(len(y)), max(1, SAMPLE_BUDGET // len(y))
        shared = SharedFeatures(model, x)
        while (steps < self.max_steps and moves.step >= self.min_step and not reached(acc, norm_loss, ctx.loss_bin)
               and (not self.max_evals or evals < self.max_evals)):
            left = per_round if not self.max_evals else min(per_round, self.max_evals - evals)
            best = None
            while left > 0:
                candidates = moves.propose(point, min(left, chunk))
                if len(candidates) == 0:
                    break
                logits, point_logits = shared.logits(point, candidates)
                if point_logits is not None:  # judge the point by the same arithmetic as the candidates it is compared with
                    loss = self.score(model, point_logits, point, y)[1]
                c_acc, c_loss, c_norm = self.score(model, logits, candidates, y)
                i = int(c_loss.argmin())
                if best is None or c_loss[i] < best[2]:
                    best = (candidates[i : i + 1], c_acc[i], c_loss[i], c_norm[i])
                evals += len(candidates)
                left -= len(candidates)
            if best is not None and best[2] < loss:
                point, acc, loss, norm_loss = best
                steps += 1
                moves.improved()
            else:
                moves.stalled()
            counters["rounds"] += 1
            ctx.progress(steps=counters["steps"] + steps, evals=counters["forward_evals"] + evals, loss=float(loss),
                         train_acc=float(acc), step=moves.step, rate=(counters["forward_evals"] + evals) / max(time.perf_counter() - start, 1e-9))
        counters["steps"] += steps
        counters["forward_evals"] += evals
        counters["head_evals"] += shared.head_evals
        counters["shrinks"] += moves.shrinks
        return point

    def score(self, model, logits, theta, y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Train accuracy, objective (what the search minimizes) and normalized loss of each model."""
        norm_loss = normalized_loss(logits, model.norm_scale(theta), y)
        if self.objective == "normalized":
            return accuracy(logits, y), norm_loss, norm_loss
        return accuracy(logits, y), normalized_loss(logits, torch.ones_like(norm_loss), y), norm_loss


class SharedFeatures:
    """Candidates' logits, computing the features once per point for those that share them.

    A model with a feature stage and a head (``model.head_start``) gives every
    candidate that agrees with the current point before ``head_start`` the
    point's features; pattern search's one-coordinate moves mostly do (94% of
    LeNet's parameters are in its dense head), and a LeNet-1 round on 100
    MNIST samples then costs a few dense layers instead of 99 convolution
    passes. The head's logits equal a full forward pass up to float rounding.
    """

    def __init__(self, model, x: torch.Tensor):
        self.model, self.x = model, x
        self.point, self.features = None, None
        self.head_evals = 0  # candidates evaluated by the head alone

    def logits(self, point: torch.Tensor, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of ``candidates`` and, when the head was used, of ``point`` computed the same way."""
        k = self.model.head_start
        same = (candidates[:, :k] == point[:, :k]).all(1) if k is not None else None
        if same is None or not bool(same.any()):
            return self.model.forward(candidates, self.x), None
        if self.point is not point:  # the search replaces the point object when it moves
            self.point, self.features = point, self.model.features(point, self.x)[0]
        head = self.model.head(torch.cat([point, candidates[same]]), self.features)
        self.head_evals += len(head) - 1
        if bool(same.all()):
            return head[1:], head[:1]
        logits = head.new_empty(len(candidates), *head.shape[1:])
        logits[same] = head[1:]
        logits[~same] = self.model.forward(candidates[~same], self.x)
        return logits, head[:1]


def reached(acc: torch.Tensor, loss: torch.Tensor, loss_bin) -> bool:
    """The search's goal: every sample fitted and, with a bin, loss at or below its upper edge."""
    return bool(acc >= 1) and (loss_bin is None or bool(loss <= loss_bin[1]))


COMMON = {
    "step": Param(1.0, "initial step size"),
    "shrink": Param(0.5, "factor the step is multiplied by when it shrinks"),
    "max_steps": Param(80_000, "stop after this many moves"),
    "population": Param(0, "candidates per round; 0: the reference's budget // n - 1"),
    "max_evals": Param(0, "stop after this many candidate evaluations; 0: no cap"),
    "min_step": Param(1e-8, "stop when the step falls below this"),
    "restarts": Param(1, "independent searches per cell; each reports its final point"),
    "init": Param("uniform", "starting point: U[-radius, radius], PyTorch's layer default or the reference's rule",
                  choices=INITS),
    "radius": Param(1.0, "half-width of the uniform starting point"),
    "objective": Param("normalized", "what a move must lower: the normalized train loss or the plain cross-entropy",
                       choices=OBJECTIVES),
}
BUDGET_HELP = "the reference's models x samples per round; sets the candidates per round when population = 0"
