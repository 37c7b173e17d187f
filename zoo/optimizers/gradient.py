"""Gradient baselines (SGD, Adam, RMSProp, full-batch GD) on a population.

A round trains ``population`` models at once: one flat parameter tensor,
one summed loss (each model's gradient depends on its own loss only), one
update (:mod:`zoo.optimizers.updates`: ``torch.optim``'s, or plain SGD's
written out on the CPU). All models of a round see the same minibatch order;
they differ in their initialization, and every round draws a new order.

Bin steering (GUIDE §2): a model stops receiving gradient once it has 100%
train accuracy and normalized train loss <= the bin's upper edge (without a
bin: once it fits). At the end a model is reported when it is accepted by the
same rule as Guess & Check. Rounds repeat until ``target`` models are
accepted, ``max_models`` have been trained or ``max_cell_evals`` forward
evaluations are spent (a round cut short by that cap is judged as it
stands); ``restarts`` counts the rounds begun because the ones before had
not yet found ``target`` models.

The reference sizes a round by its minibatch: batch min(n/2, cap) (cap 2 in
Tables 2 and 3, 64 in Table 4; ``batch = 0`` with ``batch_cap``) and
``population_budget // batch`` models (1,000 in Table 4), retried until one
fits.

The step's gradient and the steering check come from a compiled kernel for
LeNet on the CPU (``engine = "fast"``, the default;
:mod:`zoo.optimizers.lenet_gradient`), which skips frozen models, or from
autograd (``engine = "autograd"``, and wherever the kernel does not apply):
the same steps up to float32 rounding (docs/speed.md, *SGD populations*).

Checkpoints (:meth:`zoo.optimizer.Context.checkpoint`) are taken after an
epoch: the round's parameters, frozen models, the update's state (``torch.optim``'s) and
the generator's state, with the models found in earlier rounds, so a resumed
cell trains on exactly as an uninterrupted one would.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from zoo.evaluate import accepted, accuracy, fit_and_loss, normalized_loss
from zoo.hookspecs import hookimpl
from zoo.optimizers.candidates import one_thread
from zoo.optimizers.lenet_gradient import LeNetGradients
from zoo.optimizers.updates import ALGORITHMS, population_update
from zoo.optimizer import UNCAPPED, Outcome
from zoo.population import INITS
from zoo.registry import Param, PluginSpec

# How a step's gradient and the steering check are computed; they change the time a round takes, not what it does
# (up to float32 rounding), so the engine is no cell parameter.
ENGINES = ("fast", "autograd")


@dataclass
class Round:
    """The models of the round in training and where their training stands."""

    theta: torch.Tensor
    snapshot: torch.Tensor | None = None  # frozen models' parameters
    frozen: torch.Tensor | None = None
    epoch: int = 0  # epochs done
    optimizer_state: dict | None = None  # the update's state of the flat parameter tensor, as torch.optim keeps it


@dataclass
class Progress:
    """A cell's progress: models trained and found so far, and the round in training."""

    trained: int = 0
    counters: dict = field(default_factory=dict)
    found: list = field(default_factory=list)  # (theta, acc, loss) per round that found some
    dropped: int = 0  # accepted models of the last round left out because the target was reached
    short: bool = False  # the last round was cut short by max_models
    round: Round | None = None

    @property
    def n_found(self) -> int:
        return sum(len(f[0]) for f in self.found)


class GradientBaseline:
    def __init__(self, algorithm="sgd", lr=0.001, momentum=0.0, weight_decay=0.0, epochs=30, batch=0,
                 init="uniform", radius=1.0, population=32, target=10, max_models=64, steer=True, batch_cap=2,
                 population_budget=0, max_cell_evals=0, engine="fast"):
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}, got {algorithm!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        self.engine = engine
        if (lr <= 0 or epochs < 1 or batch < 0 or population < 1 or target < 1 or max_models < 1 or batch_cap < 1
                or population_budget < 0 or max_cell_evals < 0):
            raise ValueError("needs lr > 0, epochs >= 1, batch >= 0 (0: min(n/2, batch_cap)), batch_cap >= 1, "
                             "population_budget >= 0 (0: use population), max_cell_evals >= 0 (0: no cap), population, target and max_models >= 1")
        self.__dict__.update(algorithm=algorithm, lr=lr, momentum=momentum, weight_decay=weight_decay, epochs=epochs,
                             batch=batch, init=init, radius=radius, population=population, target=target,
                             max_models=max_models, steer=steer, batch_cap=batch_cap, population_budget=population_budget,
                             max_cell_evals=max_cell_evals)

    def batch_size(self, n: int) -> int:
        """``batch = 0`` is the reference's min(n/2, batch_cap); anything above n is full-batch."""
        return max(1, min(n // 2, self.batch_cap)) if self.batch == 0 else min(self.batch, n)

    def models_per_round(self, n: int) -> int:
        """``population``, or the reference's ``population_budget // batch`` when that is set."""
        return max(1, self.population_budget // self.batch_size(n)) if self.population_budget else self.population

    def run(self, problem, model, ctx) -> Outcome:
        n = len(problem.y_train)
        gen = ctx.generator("init")
        run = ctx.resume(lambda state: self.restore(state, gen, n, model.num_params, ctx.device))
        run = run or Progress(counters={"steps": 0, "restarts": 0, "forward_evals": 0.0})
        while run.n_found < self.target and run.trained < self.max_models and not self.spent(run.counters):
            if run.round is None:
                if run.trained:
                    run.counters["restarts"] += 1
                m = min(self.models_per_round(n), self.max_models - run.trained)
                run.round = Round(model.initial(self.init, m, self.radius, gen, device=ctx.device))
            m = len(run.round.theta)
            live = lambda epoch, done=run.trained + m: ctx.progress(  # noqa: E731  models and epochs, for the live bar
                models=f"{done:,}/{self.max_models:,}", epoch=f"{epoch}/{self.epochs}", accepted=run.n_found)
            theta = self.train(run, problem, model, ctx, gen, live)
            run.round = None
            ctx.trace(run.counters["forward_evals"], theta, final=True)
            run.trained += m
            run.short = m < self.models_per_round(n)
            with torch.no_grad():
                acc, loss, ok = self.judge(model, theta, problem, ctx)
            run.counters["fit"] = run.counters.get("fit", 0) + int((acc >= 1).sum())
            hits = ok.nonzero().flatten()
            run.dropped = max(0, len(hits) - (self.target - run.n_found))
            hits = hits[: self.target - run.n_found]
            if len(hits):
                run.found.append((theta[hits], acc[hits], loss[hits]))
            ctx.progress(tested=run.trained, accepted=run.n_found)
            ctx.checkpoint(lambda: self.state(run, gen))
        ctx.checkpoint(lambda: self.state(run, gen), final=True)
        return _report(model, problem, run.found, run.trained, run.counters, ctx)

    def state(self, run: "Progress", gen: torch.Generator) -> dict:
        """Everything a resumed cell needs to go on exactly as this one would (:meth:`restore` reads it)."""
        current = None
        if run.round is not None:
            r = run.round
            current = {"theta": r.theta, "snapshot": r.snapshot, "frozen": r.frozen, "epoch": r.epoch,
                       "optimizer": r.optimizer_state}
        return {"trained": run.trained, "counters": dict(run.counters), "found": [list(f) for f in run.found],
                "dropped": run.dropped, "short": run.short, "gen": gen.get_state(), "round": current,
                "max_cell_evals": self.max_cell_evals,
                "extra": self.extra_state()}

    def restore(self, state: dict, gen: torch.Generator, n: int, num_params: int, device) -> "Progress | None":
        """A saved :meth:`state` as progress, or None when it is not a stage of this cell's run (a budget shrank)."""
        found = [tuple(t.to(device) for t in f) for f in state["found"]]
        run = Progress(int(state["trained"]), {k: float(v) for k, v in state["counters"].items()}, found,
                       int(state["dropped"]), bool(state["short"]))
        if any(len(f) != 3 or f[0].shape[1:] != (num_params,) for f in found) or run.trained < 0:
            raise ValueError("models of another shape")
        if run.n_found >= self.target and run.n_found > 0 or run.trained > self.max_models:
            return None  # this cell would have stopped earlier: start afresh
        if run.dropped or (run.short and run.trained != self.max_models):
            return None  # the last round was cut by the smaller budget: this cell's was not
        if self.max_cell_evals != state["max_cell_evals"] and (
                (state["max_cell_evals"] and run.counters["forward_evals"] >= state["max_cell_evals"])
                or (self.max_cell_evals and run.counters["forward_evals"] >= self.max_cell_evals)):
            return None  # one of the two caps on forward evaluations cut the run where the other did not
        if state["round"] is not None:
            r = state["round"]
            if len(r["theta"]) != min(self.models_per_round(n), self.max_models - run.trained):
                return None  # the round was sized by another max_models
            run.round = Round(r["theta"].to(device), r["snapshot"].to(device), r["frozen"].to(device), int(r["epoch"]),
                              r["optimizer"])
            if r["theta"].shape[1:] != (num_params,) or not 0 < run.round.epoch <= self.epochs:
                raise ValueError("a round of another shape")
        gen.set_state(state["gen"])
        self.restore_extra(state["extra"])
        return run

    def extra_state(self) -> dict:
        """A subclass's own progress, saved with the rest."""
        return {}

    def restore_extra(self, state: dict) -> None:
        pass

    def spent(self, counters) -> bool:
        """Whether the cell's cap on forward evaluations is reached."""
        return bool(self.max_cell_evals) and counters["forward_evals"] >= self.max_cell_evals

    def judge(self, model, theta, problem, ctx):
        """Train accuracy, normalized train loss and acceptance of each trained model."""
        acc, loss = fit_and_loss(model, theta, problem.x_train, problem.y_train)
        return acc, loss, accepted(acc, loss, ctx.loss_bin)

    def train(self, run, problem, model, ctx, gen, live=lambda epoch: None):
        """Train the current round's models from its epoch on; checkpoints after an epoch when due."""
        x, y = problem.x_train, problem.y_train
        r, counters = run.round, run.counters
        n, m = len(y), r.theta.shape[0]
        theta = r.theta.clone().requires_grad_(True)
        optimizer = population_update(self.algorithm, theta, self.lr, self.momentum, self.weight_decay)
        if r.optimizer_state is not None:
            optimizer.load({k: v.to(theta.device) if isinstance(v, torch.Tensor) else v
                            for k, v in r.optimizer_state.items()})
        frozen = r.frozen if r.frozen is not None else torch.zeros(m, dtype=torch.bool, device=theta.device)
        snapshot = r.snapshot if r.snapshot is not None else theta.detach().clone()
        batch = self.batch_size(n)
        kernel = self.kernel(model, theta)
        own_check = type(self)._done is GradientBaseline._done  # a subclass's own check (poisoned SGD's) stays its own
        if kernel is not None:
            theta.grad = torch.zeros_like(theta)  # the rows of frozen models stay zero

        def saved():
            r.theta, r.snapshot, r.frozen, r.epoch = theta.detach(), snapshot, frozen, epoch  # epochs done
            r.optimizer_state = optimizer.state()
            return self.state(run, gen)

        # with the kernel, torch's remaining operations are small: one thread each (zoo.optimizers.candidates.one_thread)
        with one_thread() if kernel is not None else nullcontext():
            for epoch in range(r.epoch, self.epochs):
                if epoch > r.epoch:
                    ctx.checkpoint(saved)
                live(epoch + 1)
                order = torch.randperm(n, generator=gen, device=gen.device).to(x.device)
                for start in range(0, n, batch):
                    idx = order[start : start + batch]
                    if kernel is not None:
                        kernel.gradient(theta, theta.grad, (~frozen).nonzero().flatten(), x[idx], y[idx])
                    else:
                        logits = model.forward(theta, x[idx])
                        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[idx].repeat(m), reduction="sum") / len(idx)
                        optimizer.zero_grad()
                        loss.backward()
                    optimizer.step()
                    counters["steps"] += 1
                    # the step's forward pass in models evaluated on the whole training set (steering checks not counted)
                    counters["forward_evals"] = counters.get("forward_evals", 0.0) + m * len(idx) / n
                    with torch.no_grad():
                        if kernel is None or bool(frozen.any()):  # (a masked copy over the population otherwise)
                            theta[frozen] = snapshot[frozen]  # frozen models never move, momentum or not
                        if self.steer:
                            if kernel is not None and own_check:
                                newly = self._newly_done(kernel, model, theta, frozen, x, y, ctx)
                            else:
                                newly = self._done(model, theta, x, y, ctx) & ~frozen
                            if kernel is not None and bool(newly.any()):
                                theta.grad[newly] = 0.0  # the kernel computes no gradient for frozen models
                            snapshot[newly] = theta[newly]
                            frozen |= newly
                        ctx.trace(counters["forward_evals"], theta)
                    if (self.steer and bool(frozen.all())) or self.spent(counters):
                        return theta.detach()
            return theta.detach()

    def kernel(self, model, theta) -> LeNetGradients | None:
        """The compiled LeNet gradient for the fast engine on the CPU, else None (autograd)."""
        if self.engine != "fast" or theta.device.type != "cpu" or theta.dtype != torch.float32:
            return None
        kernel = LeNetGradients(model)
        return kernel if kernel.available else None

    @staticmethod
    def _newly_done(kernel, model, theta, frozen, x, y, ctx):
        """:meth:`_done` of the models not yet frozen, from the kernel's logits (frozen models do not move)."""
        rows = (~frozen).nonzero().flatten()
        newly = torch.zeros_like(frozen)
        if len(rows):
            logits = kernel.logits(theta, rows, x)
            acc, loss = accuracy(logits, y), normalized_loss(logits, model.norm_scale(theta.detach())[rows], y)
            done = acc >= 1
            if ctx.loss_bin is not None:
                done &= loss <= ctx.loss_bin[1]
            newly[rows[done]] = True
        return newly

    @staticmethod
    def _done(model, theta, x, y, ctx):
        acc, loss = fit_and_loss(model, theta, x, y)
        done = acc >= 1
        if ctx.loss_bin is not None:
            done &= loss <= ctx.loss_bin[1]
        return done


def _report(model, problem, found, trained, counters, ctx) -> Outcome:
    theta, acc, loss = (torch.cat(parts) for parts in zip(*found)) if found else (torch.empty(0),) * 3
    return Outcome.of(model, problem, theta, {**counters, "tested": trained, "accepted": len(theta)}, ctx, train=(acc, loss))


COMMON = {
    "lr": Param(0.001, "learning rate"),
    "momentum": Param(0.0, "momentum (SGD and RMSProp; Adam ignores it)"),
    "weight_decay": Param(0.0, "L2 weight decay"),
    "epochs": Param(30, "passes over the training set per model"),
    "batch": Param(0, "minibatch size; 0: the reference's min(n/2, batch_cap); at least n: full batch"),
    "batch_cap": Param(2, "the cap of the reference's batch rule min(n/2, batch_cap) when batch = 0 (2 in Tables 2 and 3, "
                          "64 in Table 4)"),
    "init": Param("uniform", "starting point: U[-radius, radius], PyTorch's layer default or the reference's rule",
                  choices=INITS),
    "radius": Param(1.0, "half-width of the uniform initialization"),
    "population": Param(32, "models trained at once in one round"),
    "population_budget": Param(0, "when > 0, models per round = population_budget // batch, the reference's sizing "
                                  "(1,000 in Table 4); 0: use population"),
    "target": Param(10, "stop once this many models are accepted", budget=True),
    "max_models": Param(64, "stop once this many models were trained", budget=True),
    "steer": Param(True, "stop training a model once it fits (with a bin: once its loss is at or below the bin)"),
    "max_cell_evals": Param(0, "cap on the cell's forward evaluations (models x samples / n, steering checks not counted); "
                          "0: no cap", budget=True),
}


def spend_on_gradients(evals: int, params) -> dict:
    """A bench's ``budget_evals`` is the cell's only cap: on forward evaluations, not on models trained."""
    return {"max_cell_evals": evals, "max_models": UNCAPPED}


def _spec(name, summary, **overrides):
    params = {**COMMON, **{k: replace(COMMON[k], default=v) for k, v in overrides.items()}}
    algorithm = "sgd" if name == "gd" else name
    return PluginSpec(name, lambda **kw: GradientBaseline(algorithm=algorithm, **kw), params, summary,
                      eval_budget=spend_on_gradients)


@hookimpl
def zoo_optimizers():
    return [
        _spec("sgd", "minibatch SGD (momentum optional), population-parallel, with loss-bin steering"),
        _spec("adam", "Adam, population-parallel, with loss-bin steering"),
        _spec("rmsprop", "RMSProp, population-parallel, with loss-bin steering"),
        _spec("gd", "full-batch gradient descent", batch=1_000_000),
    ]
