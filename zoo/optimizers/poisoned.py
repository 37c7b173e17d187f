"""Poisoned baselines: optimizers sent looking for bad minima on purpose.

Both wrap a registered optimizer and hand it a *poisoned problem*: the clean
training set (repeated ``repeat`` times) plus the first ``poison`` test points
(0: the whole test set) with wrong labels. The wrong label of class ``c`` is
``(c + 1) mod k`` for a task of ``k`` classes: a fixed derangement, which for
two classes swaps them. Whatever the inner optimizer accepts fits the
training set and gets every poison point wrong, so it is a minimum of the
clean training loss that generalizes badly. Such minima exist; the volume
hypothesis says they are tiny.

- ``poisoned_sgd`` (the paper's Table 1): SGD on the training set repeated
  10x plus the whole test set with flipped labels, lr 0.001, batch 400, up to
  40,000 epochs; a model stops once it fits that combined set, checked every
  ``epochs // 100 + 1`` epochs (401) as in the reference. As there, a model is
  accepted when it is 100% accurate on the clean training set
  (``accept = "clean"``), whether or not it fits every poison point;
  ``accept = "poisoned"`` asks for the whole poisoned set.
- ``poisoned_guess_check``: Guess & Check that accepts a guess only when it
  fits the training set and predicts the wrong label on each poison point.
  Its ``tested``/``accepted`` counters give the volume of poisoned minima,
  next to plain ``guess_check`` on the same task for the good ones.

The reported models' train accuracy and normalized loss are those on the
clean training set, and test accuracy is on the clean, whole test set (poison
points included). A cell's loss bin, if any, applies to the normalized loss
on the set a model is accepted on: the clean training set for
``poisoned_sgd`` with ``accept = "clean"``, else the poisoned one.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from zoo.evaluate import accepted, fit_and_loss
from zoo.hookspecs import hookimpl
from zoo.optimizer import Outcome
from zoo.optimizers import gradient, guess_check
from zoo.poisoning import poison_points, poisoned_problem, wrong_labels  # noqa: F401  (part of this plugin's interface)
from zoo.registry import Param, PluginSpec
from zoo.task import Problem


ACCEPT = ("clean", "poisoned")


def on_clean_data(outcome: Outcome, problem: Problem, model, ctx, counters: dict) -> Outcome:
    """The inner optimizer's models reported with train accuracy and loss on the clean training set."""
    if outcome.params is None:
        return replace(outcome, counters=counters)
    with torch.no_grad():
        acc, loss = fit_and_loss(model, outcome.params.to(problem.x_train.device), problem.x_train, problem.y_train)
    return Outcome(test_acc=outcome.test_acc, train_acc=acc.tolist(), train_loss=loss.tolist(), counters=counters,
                   params=outcome.params if ctx.keep_params else None, diagnostics=outcome.diagnostics)


class Poisoned:
    """Run ``inner`` on the poisoned problem; report its models on the clean data."""

    def __init__(self, inner, poison: int, repeat: int = 1):
        if poison < 0 or repeat < 1:
            raise ValueError(f"needs poison >= 0 (0: the whole test set) and repeat >= 1, got poison={poison}, repeat={repeat}")
        self.inner, self.poison, self.repeat = inner, poison, repeat

    def run(self, problem, model, ctx) -> Outcome:
        poisoned = poisoned_problem(problem, self.poison, self.repeat)
        if isinstance(self.inner, PoisonedSGD):
            self.inner.clean = problem  # it judges its models on the clean training set
        outcome = self.inner.run(poisoned, model, replace(ctx, keep_params=True))
        counters = {**outcome.counters, "poison_points": len(poisoned.y_train) - self.repeat * len(problem.y_train)}
        return on_clean_data(outcome, problem, model, ctx, counters)


class PoisonedSGD(gradient.GradientBaseline):
    """SGD on the poisoned set, stop rule checked every ``check_every`` epochs, models judged by ``accept``.

    A check (a forward pass over the whole poisoned set, thousands of points)
    costs as much as an epoch of steps; the reference checks every
    ``epochs // 100 + 1`` epochs (``check_every = 0``). ``accept = "clean"``
    (the reference) accepts a model that is 100% accurate on the clean
    training set; ``"poisoned"`` one that fits the whole poisoned set.
    """

    def __init__(self, accept="clean", check_every=0, **params):
        if accept not in ACCEPT:
            raise ValueError(f"accept must be one of {list(ACCEPT)}, got {accept!r}")
        if check_every < 0:
            raise ValueError(f"check_every must be >= 0 (0: the reference's epochs // 100 + 1), got {check_every}")
        super().__init__(**params)
        self.accept, self.check_every = accept, check_every or self.epochs // 100 + 1
        self.clean, self._calls = None, 0

    def _done(self, model, theta, x, y, ctx):
        n = len(y)
        self._calls += 1
        if self._calls % (-(-n // self.batch_size(n)) * self.check_every):
            return torch.zeros(theta.shape[0], dtype=torch.bool, device=theta.device)
        acc, loss = fit_and_loss(model, theta, x, y)
        return acc >= 1

    def extra_state(self) -> dict:
        return {"calls": self._calls, "fit_poisoned": self.fit_poisoned}

    def restore_extra(self, state: dict) -> None:
        self._calls, self.fit_poisoned = int(state["calls"]), int(state["fit_poisoned"])

    def judge(self, model, theta, problem, ctx):
        fits_poisoned = fit_and_loss(model, theta, problem.x_train, problem.y_train)
        self.fit_poisoned += int((fits_poisoned[0] >= 1).sum())
        if self.accept == "poisoned":
            acc, loss = fits_poisoned
        else:
            acc, loss = fit_and_loss(model, theta, self.clean.x_train, self.clean.y_train)
        return acc, loss, accepted(acc, loss, ctx.loss_bin)

    def run(self, problem, model, ctx) -> Outcome:
        self._calls, self.fit_poisoned = 0, 0
        outcome = super().run(problem, model, ctx)
        return replace(outcome, counters={**outcome.counters, "fit_poisoned": self.fit_poisoned})


POISON_HELP = "test points added with wrong labels (the first ones; 0: the whole test set)"
REPEAT_HELP = "times the clean training set is repeated in the poisoned training set"


def _inner_spec(module, name: str) -> PluginSpec:
    return next(spec for spec in module.zoo_optimizers() if spec.name == name)


def poisoned_spec(name, summary, inner: PluginSpec, own: dict, build_inner=None, extra=None, **overrides) -> PluginSpec:
    """A spec taking the inner optimizer's parameters (some defaults changed, ``extra`` added) plus ``own``."""
    build_inner = build_inner or inner.build

    def build(**params):
        inner_params = {k: v for k, v in params.items() if k not in own}
        return Poisoned(build_inner(**inner_params), **{k: params[k] for k in own})

    params = {key: inner.param(key) for key in inner.params}
    params.update(extra or {})
    params.update({key: replace(params[key], default=value) for key, value in overrides.items()})
    return PluginSpec(name, build, {**params, **own}, summary, eval_budget=inner.eval_budget)


@hookimpl
def zoo_optimizers():
    return [
        poisoned_spec(
            "poisoned_sgd",
            "SGD on the training set x10 plus the test set with wrong labels (Table 1): bad minima exist",
            _inner_spec(gradient, "sgd"),
            {"poison": Param(0, POISON_HELP), "repeat": Param(10, REPEAT_HELP)},
            lambda **params: PoisonedSGD(algorithm="sgd", **params),
            extra={"accept": Param("clean", "which models count: 100% accurate on the clean training set (the reference) "
                                            "or fitting the whole poisoned set", choices=ACCEPT),
                   "check_every": Param(0, "epochs between checks of the stop rule (fits the poisoned set); "
                                           "0: the reference's epochs // 100 + 1")},
            lr=0.001, batch=400, epochs=40_000, population=8, target=8, max_models=8,
        ),
        poisoned_spec(
            "poisoned_guess_check",
            "Guess & Check accepting only guesses that fit and get the first `poison` test points wrong",
            _inner_spec(guess_check, "guess_check"),
            {"poison": Param(5, POISON_HELP)},
        ),
    ]
