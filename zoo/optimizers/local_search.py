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

*When a search looks at its fit.* The reference checks train accuracy only
every ``max_steps // 100`` steps (pattern search) or ``max_steps // 300``
(random greedy search), so a search that fits keeps lowering the normalized
loss until the next check; ``check_every = 0`` does the same, and
``check_every = 1`` stops at the first step that fits. The goal is every
sample fitted (and, with a loss bin, normalized loss at or below the bin's
upper edge). A search also ends after ``max_steps`` steps, after
``max_evals`` candidate evaluations (0: no cap), when the cell has spent
``max_cell_evals`` over all its searches (0: no cap), or when the step size falls
below ``min_step``; the last is a safeguard the reference lacks: there a
search that can no longer improve halves its step forever.

*Runs and restarts.* Only a search whose final point is accepted (100% train
accuracy, in the bin) counts, as in the reference; one that is not is
restarted from a fresh initialization. A cell runs searches until ``target``
of them fitted or ``max_runs`` were started, and reports the fitted points
only, with counters ``tested`` (searches started), ``accepted`` (searches
that fitted) and ``restarts`` (fresh starts after a search that did not fit).

*Checkpoints.* After a round, when due, a cell saves its searches so far,
the current point with its loss, the step size and the move scheme's state
and both generators' states; a resumed cell goes on exactly as an
uninterrupted one. A cell whose ``target`` or ``max_runs`` grew continues
from the smaller one's; one whose ``max_steps`` or ``max_evals`` grew does
too when no search so far was stopped by those caps and the cadence of
accuracy checks is unchanged (with ``check_every = 0`` it follows
``max_steps``).
"""

from __future__ import annotations

import time

import torch

from zoo.evaluate import accepted, fit_and_loss
from zoo.optimizer import UNCAPPED, Outcome
from zoo.optimizers.candidates import ENGINES, Scorer, evaluator
from zoo.population import INITS
from zoo.registry import Param

OBJECTIVES = ("normalized", "cross_entropy")


class Moves:
    """Proposal scheme of one search: candidates, step size and when it shrinks."""

    def __init__(self, step: float, shrink: float):
        self.step, self.shrink, self.shrinks = step, shrink, 0

    def state(self) -> dict:
        """Where the scheme stands, for a checkpoint (subclasses add theirs)."""
        return {"step": self.step, "shrinks": self.shrinks}

    def restore(self, state: dict) -> None:
        self.step, self.shrinks = float(state["step"]), int(state["shrinks"])

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
    ``check_fraction`` is the reference's cadence: accuracy is checked every
    ``max_steps // check_fraction`` steps when ``check_every = 0``.
    ``engine`` picks how a round's candidates are evaluated
    (:mod:`zoo.optimizers.candidates`): ``"fast"`` or the reference design.
    Both take the same moves, so it is not a cell parameter.
    """

    check_fraction = 100

    def __init__(self, budget, step=1.0, shrink=0.5, max_steps=80_000, population=0, max_evals=0, min_step=1e-8,
                 target=1, max_runs=1, check_every=0, init="uniform", radius=1.0, objective="normalized", max_cell_evals=0,
                 engine="fast"):
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        if step <= 0 or not 0 < shrink < 1 or radius <= 0 or min_step < 0:
            raise ValueError("needs step > 0, 0 < shrink < 1, radius > 0 and min_step >= 0")
        if budget < 1 or max_steps < 1 or population < 0 or max_evals < 0 or check_every < 0 or max_cell_evals < 0:
            raise ValueError("needs budget >= 1, max_steps >= 1, population >= 0 (0: reference rule), max_evals and "
                             "max_cell_evals >= 0 (0: no cap) and check_every >= 0 (0: reference cadence)")
        if target < 1 or max_runs < target:
            raise ValueError(f"needs target >= 1 and max_runs >= target, got target={target}, max_runs={max_runs}")
        self.budget, self.step, self.shrink, self.max_steps, self.population = budget, step, shrink, max_steps, population
        self.max_evals, self.min_step, self.target, self.max_runs = max_evals, min_step, target, max_runs
        self.max_cell_evals = max_cell_evals
        self.check_every = check_every or max(1, max_steps // self.check_fraction)
        self.init, self.radius, self.objective, self.engine = init, radius, objective, engine

    def moves(self, num_params: int, gen: torch.Generator) -> Moves:
        raise NotImplementedError

    def candidates_per_round(self, n: int) -> int:
        return self.population or max(1, self.budget // n - 1)

    @torch.no_grad()
    def run(self, problem, model, ctx) -> Outcome:
        start = time.perf_counter()
        init_gen, move_gen = ctx.generator("init"), ctx.generator("moves")
        run = ctx.resume(lambda state: self.restore(state, model.num_params, ctx.device, init_gen, move_gen))
        run = run or Searches({"tested": 0, "accepted": 0, "restarts": 0, "steps": 0, "rounds": 0, "forward_evals": 0,
                               "head_evals": 0, "shrinks": 0})
        counters, fitted, unfitted_acc = run.counters, run.fitted, run.unfitted_acc
        save = lambda: self.state(run, init_gen, move_gen)  # noqa: E731
        while (len(fitted) < self.target and counters["tested"] < self.max_runs
               and not (self.max_cell_evals and counters["forward_evals"] >= self.max_cell_evals)):
            if counters["tested"] > len(fitted) and run.current is None:
                counters["restarts"] += 1  # the last search did not fit: a fresh start
            point = self.search(problem, model, ctx, init_gen, move_gen, run, start, save)
            ctx.trace(counters["forward_evals"], point, final=True)
            counters["tested"] += 1
            acc, loss = fit_and_loss(model, point, problem.x_train, problem.y_train)
            if bool(accepted(acc, loss, ctx.loss_bin)[0]):
                fitted.append((point, acc, loss))
            else:
                unfitted_acc.append(float(acc[0]))
            ctx.checkpoint(save)
        ctx.checkpoint(save, final=True)
        counters["accepted"] = len(fitted)
        if unfitted_acc:  # how close the searches that did not count came
            counters["unfitted_best_train_acc"] = max(unfitted_acc)
        counters["seconds"] = time.perf_counter() - start
        if not fitted:
            return Outcome.of(model, problem, torch.empty(0, model.num_params), counters, ctx)
        theta, acc, loss = (torch.cat(parts) for parts in zip(*fitted))
        return Outcome.of(model, problem, theta, counters, ctx, train=(acc, loss))

    def state(self, run: "Searches", init_gen, move_gen) -> dict:
        """Everything a resumed cell needs to go on exactly as this one would (:meth:`restore` reads it)."""
        current = None
        if run.current is not None:
            s = run.current
            current = {"point": s.point, "acc": s.acc, "loss": s.loss, "norm_loss": s.norm_loss, "evals": s.evals,
                       "steps": s.steps, "head_evals": s.shared.head_evals, "moves": s.moves.state()}
        return {"counters": dict(run.counters), "fitted": [list(f) for f in run.fitted], "unfitted_acc": run.unfitted_acc,
                "capped": run.capped, "most_steps": run.most_steps, "most_evals": run.most_evals,
                "check_every": self.check_every, "max_steps": self.max_steps, "max_evals": self.max_evals,
                "max_cell_evals": self.max_cell_evals,
                "init_gen": init_gen.get_state(), "move_gen": move_gen.get_state(), "current": current}

    def restore(self, state: dict, num_params: int, device, init_gen, move_gen) -> "Searches | None":
        """A saved :meth:`state` as progress, or None when it is not a stage of this cell's run (a budget changed)."""
        fitted = [tuple(t.to(device) for t in f) for f in state["fitted"]]
        if any(len(f) != 3 or f[0].shape != (1, num_params) for f in fitted):
            raise ValueError("points of another shape")
        run = Searches({k: v for k, v in state["counters"].items()}, fitted, [float(a) for a in state["unfitted_acc"]],
                       bool(state["capped"]), int(state["most_steps"]), int(state["most_evals"]))
        caps = (state["max_steps"], state["max_evals"], state["max_cell_evals"]) == (
            self.max_steps, self.max_evals, self.max_cell_evals)
        spent = run.counters["forward_evals"] + (state["current"]["evals"] if state["current"] is not None else 0)
        if (state["check_every"] != self.check_every or (run.capped and not caps) or run.most_steps > self.max_steps
                or (self.max_evals and run.most_evals > self.max_evals)
                or (not caps and self.max_cell_evals and spent >= self.max_cell_evals)):
            return None  # this cell's searches would have stopped elsewhere: start afresh
        if len(fitted) >= self.target or run.counters["tested"] > self.max_runs:
            return None
        if state["current"] is not None:
            s = state["current"]
            if s["steps"] > self.max_steps or (self.max_evals and s["evals"] > self.max_evals):
                return None
            if run.counters["tested"] >= self.max_runs:
                return None
            moves = self.moves(num_params, move_gen)
            moves.restore(s["moves"])
            run.current = Search(s["point"].to(device), s["acc"].to(device), s["loss"].to(device),
                                 s["norm_loss"].to(device), moves, int(s["evals"]), int(s["steps"]))
            run.current.head_evals = int(s["head_evals"])
            if run.current.point.shape != (1, num_params):
                raise ValueError("a point of another shape")
        init_gen.set_state(state["init_gen"])
        move_gen.set_state(state["move_gen"])
        return run

    def search(self, problem, model, ctx, init_gen, move_gen, run, start, save) -> torch.Tensor:
        """One search from a fresh initial point, or the one in progress; returns the final point ``[1, P]``."""
        x, y = problem.x_train, problem.y_train
        counters, score = run.counters, Scorer(y, self.objective)
        per_round = self.candidates_per_round(len(y))
        if run.current is None:
            point = model.initial(self.init, 1, self.radius, init_gen, device=ctx.device)
            acc, loss, norm_loss = score(model.forward(point, x), model.norm_scale(point))
            run.current = Search(point, acc, loss, norm_loss, self.moves(model.num_params, move_gen), 1, 0)
            ctx.trace(counters["forward_evals"] + 1, point)
        s = run.current
        rounds = evaluator(self.engine, model, x, score, s.moves)
        s.shared, rounds.head_evals = rounds, s.head_evals
        with rounds.threads():
            return self.descend(s, rounds, run, ctx, start, save)

    def descend(self, s: "Search", rounds, run: "Searches", ctx, start, save) -> torch.Tensor:
        """Rounds of search ``s`` until a stopping rule holds; returns its last point."""
        counters, per_round = run.counters, self.candidates_per_round(len(rounds.x))
        point, acc, loss, norm_loss, moves, evals, steps = s.point, s.acc, s.loss, s.norm_loss, s.moves, s.evals, s.steps
        cap = self.search_cap(counters)
        while (steps < self.max_steps and moves.step >= self.min_step
               and not (steps % self.check_every == 0 and reached(acc, norm_loss, ctx.loss_bin))
               and (not cap or evals < cap)):
            result = rounds.round(point, moves, per_round if not cap else min(per_round, cap - evals))
            if result.point_loss is not None:
                loss = result.point_loss
            evals += result.evaluated
            if result.best is not None and result.best[2] < loss:
                point, acc, loss, norm_loss = result.best
                steps += 1
                moves.improved()
            else:
                moves.stalled()
            counters["rounds"] += 1
            ctx.progress(steps=counters["steps"] + steps, evals=counters["forward_evals"] + evals, loss=float(loss),
                         train_acc=float(acc), step=moves.step, rate=(counters["forward_evals"] + evals) / max(time.perf_counter() - start, 1e-9))
            ctx.trace(counters["forward_evals"] + evals, point)
            s.point, s.acc, s.loss, s.norm_loss, s.evals, s.steps = point, acc, loss, norm_loss, evals, steps
            ctx.checkpoint(save)
        fitted = steps % self.check_every == 0 and reached(acc, norm_loss, ctx.loss_bin)
        run.capped |= not fitted and moves.step >= self.min_step  # stopped by max_steps or max_evals
        run.most_steps, run.most_evals = max(run.most_steps, steps), max(run.most_evals, evals)
        run.current = None
        counters["steps"] += steps
        counters["forward_evals"] += evals
        counters["head_evals"] += rounds.head_evals
        counters["shrinks"] += moves.shrinks
        return point

    def search_cap(self, counters) -> int:
        """Candidate evaluations the next search may spend: its own cap and what is left of the cell's (0: none)."""
        if not self.max_cell_evals:
            return self.max_evals
        left = max(1, self.max_cell_evals - counters["forward_evals"])
        return min(self.max_evals, left) if self.max_evals else left


class Search:
    """One search in progress: its point with the point's scores, the move scheme and its counts."""

    def __init__(self, point, acc, loss, norm_loss, moves: Moves, evals: int, steps: int):
        self.point, self.acc, self.loss, self.norm_loss = point, acc, loss, norm_loss
        self.moves, self.evals, self.steps = moves, evals, steps
        self.shared, self.head_evals = None, 0


class Searches:
    """A cell's searches: counters, the fitted points, how close the others came, and the one in progress."""

    def __init__(self, counters: dict, fitted=None, unfitted_acc=None, capped=False, most_steps=0, most_evals=0):
        self.counters, self.fitted, self.unfitted_acc = counters, fitted or [], unfitted_acc or []
        self.capped, self.most_steps, self.most_evals = capped, most_steps, most_evals
        self.current: Search | None = None


def reached(acc: torch.Tensor, loss: torch.Tensor, loss_bin) -> bool:
    """The search's goal: every sample fitted and, with a bin, loss at or below its upper edge."""
    return bool(acc >= 1) and (loss_bin is None or bool(loss <= loss_bin[1]))


COMMON = {
    "step": Param(1.0, "initial step size"),
    "shrink": Param(0.5, "factor the step is multiplied by when it shrinks"),
    "max_steps": Param(80_000, "cap on the moves of one search", budget=True),
    "population": Param(0, "candidates per round; 0: the reference's budget // n - 1"),
    "max_evals": Param(0, "cap on the candidate evaluations of one search; 0: no cap", budget=True),
    "max_cell_evals": Param(0, "cap on the candidate evaluations of all the cell's searches together; 0: no cap",
                            budget=True),
    "min_step": Param(1e-8, "stop a search when the step falls below this"),
    "target": Param(1, "searches that must fit (100% train accuracy, in the bin) per cell; only those are reported",
                    budget=True),
    "max_runs": Param(1, "searches started per cell at most; one that does not fit is restarted from a fresh init",
                      budget=True),
    "check_every": Param(0, "moves between train-accuracy checks, so a fitted search keeps lowering the loss until the next; "
                            "0: the reference's max_steps // 100 (PS) or // 300 (RGS); 1: stop at the first fit"),
    "init": Param("uniform", "starting point: U[-radius, radius], PyTorch's layer default or the reference's rule",
                  choices=INITS),
    "radius": Param(1.0, "half-width of the uniform starting point"),
    "objective": Param("normalized", "what a move must lower: the normalized train loss or the plain cross-entropy",
                       choices=OBJECTIVES),
}
BUDGET_HELP = "the reference's models x samples per round; sets the candidates per round when population = 0"


def spend_on_searches(evals: int, params) -> dict:
    """A bench's ``budget_evals`` is the cell's only cap: on candidate evaluations, not on searches started."""
    return {"max_cell_evals": evals, "max_runs": UNCAPPED}
