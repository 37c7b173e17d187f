"""Anytime curves: how an optimizer's current models fare as it spends forward evaluations.

An optimizer calls ``ctx.trace(evals, theta)`` whenever it likes (every
round is fine) with the forward evaluations spent so far and its current
models ``theta[K, P]`` (its current point, or the population it trains).
A :class:`Trajectory` keeps a point only when ``evals`` has grown by a
fixed factor since the last one, so a cell stores at most ``max_points``
points however long it runs, spread evenly on a log scale of cost; each
point is the models' mean train loss (normalized) and train accuracy, the
evaluations and the optimizer's seconds since the cell started (the time
spent recording points left out). Calls between points cost a comparison.

Test accuracy is recorded only when asked (``test=True``; the manifest's
``anytime_test_accuracy``): a point then costs a pass of every model over
the whole test set, which for the paper's tables (a population of 32 LeNets
on 2,000 CIFAR-10 images, a few seconds of training) is ten times the
training itself. The train metrics need only the n training samples. The
test pass skips the models whose parameters are bit for bit those of the
last point (an SGD population's models stop moving one by one as they reach
the loss bin): they keep their test accuracy, so the curve is the one a full
pass gives, for a copy of the last point's parameters.
"""

from __future__ import annotations

import time

import torch

from zoo.evaluate import fit_and_loss, test_accuracy

FIELDS = ("evals", "seconds", "train_loss", "train_acc", "test_acc")
TRAIN_FIELDS = FIELDS[:-1]  # a curve recorded without test accuracy


class Trajectory:
    """A bounded, log-spaced record of ``(evals, seconds, train_loss, train_acc, test_acc)``."""

    def __init__(self, problem, model, max_points: int = 48, growth: float = 1.25, test: bool = True):
        self.problem, self.model, self.max_points, self.growth = problem, model, max_points, growth
        self.fields = FIELDS if test else TRAIN_FIELDS
        self.start, self.overhead = time.perf_counter(), 0.0  # seconds spent here, not by the optimizer
        self.points: list[tuple[float, ...]] = []
        self.next_due = 0.0
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None  # the last point's parameters and test accuracies

    def due(self, evals: float) -> bool:
        return evals >= self.next_due and len(self.points) < self.max_points - 1  # the last slot: the final point

    @torch.no_grad()
    def record(self, evals: float, theta: torch.Tensor, final: bool = False) -> None:
        """Keep a point when it is due (or ``final``: the optimizer's last word, always kept)."""
        if not (final or self.due(evals)) or len(theta) == 0:
            return
        if self.points and (self.points[-1][0] == evals or len(self.points) >= self.max_points):
            self.points.pop()  # the same cost again, or no room left: the newer models replace the last point
        began = time.perf_counter()
        seconds = began - self.start - self.overhead
        theta = theta.detach()
        acc, loss = fit_and_loss(self.model, theta, self.problem.x_train, self.problem.y_train)
        point = (float(evals), seconds, float(loss.mean()), float(acc.mean()))
        if len(self.fields) == len(FIELDS):
            point += (float(self.test_accuracy(theta).mean()),)
        self.overhead += time.perf_counter() - began
        self.points.append(point)
        self.next_due = max(evals * self.growth, evals + 1)

    def test_accuracy(self, theta: torch.Tensor) -> torch.Tensor:
        """Each model's test accuracy; a model unchanged since the last point keeps the accuracy it had there."""
        bits = theta.view(torch.int32) if theta.dtype == torch.float32 else theta  # NaN and -0.0 as they are
        same = torch.zeros(len(theta), dtype=torch.bool, device=theta.device)
        if self.last is not None and self.last[0].shape == bits.shape and self.last[0].dtype == bits.dtype:
            same = (self.last[0] == bits).all(1)
        test = torch.empty(len(theta), device=theta.device)
        if bool(same.any()):
            test[same] = self.last[1][same]
        if not bool(same.all()):
            test[~same] = test_accuracy(self.model, theta[~same], self.problem.x_test, self.problem.y_test)
        self.last = (bits.clone(), test)
        return test

    def state(self) -> dict:
        """What a checkpoint keeps, so a resumed cell's curve goes on as if it had never stopped."""
        return {"points": [list(p) for p in self.points], "next_due": self.next_due, "seconds": self.seconds()}

    def restore(self, state: dict) -> None:
        points = [tuple(float(v) for v in p) for p in state["points"]]
        if any(len(p) != len(self.fields) for p in points) or len(points) > self.max_points:
            raise ValueError("a trajectory of another shape")
        self.points, self.next_due = points, float(state["next_due"])
        self.start, self.overhead = time.perf_counter() - float(state["seconds"]), 0.0
        self.last = None

    def seconds(self) -> float:
        """The optimizer's seconds since the cell started (recording left out)."""
        return time.perf_counter() - self.start - self.overhead

    def as_dict(self) -> dict[str, list[float]]:
        """Column lists, as stored in a cell's metrics under ``trajectory``."""
        return {name: [point[i] for point in self.points] for i, name in enumerate(self.fields)}
