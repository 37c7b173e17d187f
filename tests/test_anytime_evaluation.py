"""The anytime curve's test pass, on real MNIST: the compiled LeNet forward pass and the skipping of unchanged
models give the numbers the straightforward evaluation (torch's forward pass over every model) gives."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from zoo.speed.contention import default_suite_cell
from zoo import evaluate
from zoo.optimizer import Context
from zoo.registry import default_registry
from zoo.tasks.mnist import MNIST
from zoo.trajectory import FIELDS, Trajectory


def straightforward_accuracy(model, theta, x, y):
    """Every model on every test input through torch's forward pass."""
    with torch.no_grad():
        return (model.forward(theta, x).argmax(-1) == y).float().mean(1)


class Straightforward(Trajectory):
    """The curve as it was first written: every model of every point evaluated on the whole test set."""

    unchanged = 0  # models a point shares, bit for bit, with the point before it

    def test_accuracy(self, theta):
        if self.last is not None and self.last[0].shape == theta.shape:
            self.unchanged += int((self.last[0] == theta.view(torch.int32)).all(1).sum())
        self.last = (theta.view(torch.int32).clone(), None)
        return straightforward_accuracy(self.model, theta, self.problem.x_test, self.problem.y_test)


def default_cell_parts(test_images=None):
    """The default suite's SGD cell: its problem (real two-class MNIST), model, optimizer and context settings."""
    registry = default_registry()
    cell = default_suite_cell("sgd", registry)
    problem = registry.get("task", "mnist").build(**cell.task.params).sample(cell.n, cell.seed)
    if test_images is not None:  # the first images of the real test set, to keep the torch reference quick
        problem = replace(problem, x_test=problem.x_test[:test_images], y_test=problem.y_test[:test_images])
    model = registry.get("model", "lenet").build(input_shape=problem.input_shape, num_classes=problem.num_classes,
                                                 **cell.model.params)
    return registry, cell, problem, model


@pytest.mark.parametrize("classes, width, models", [("pair", 0.5, 40), ("all", 1.0, 6)])
def test_the_compiled_test_pass_gives_torchs_logits_and_accuracies(mnist_root, classes, width, models):
    problem = MNIST(classes=classes).sample(10, 0)
    x, y = problem.x_test[:1000], problem.y_test[:1000]
    registry = default_registry()
    model = registry.get("model", "lenet").build(input_shape=problem.input_shape, num_classes=problem.num_classes,
                                                 width=width)
    theta = model.init_uniform(models, 1.0, torch.Generator().manual_seed(7))
    theta[:3] *= 0.05  # small weights: logits near each other, where rounding could tip a decision
    compiled = model.compiled_logits(theta, x)
    assert compiled is not None  # this machine has a C compiler: the kernel path is the one tested
    with torch.no_grad():
        reference = model.forward(theta, x)
    scale = reference.abs().amax((1, 2), keepdim=True)
    assert bool(((compiled - reference).abs() <= 1e-5 * scale).all())
    assert torch.equal(evaluate.test_accuracy(model, theta, x, y), straightforward_accuracy(model, theta, x, y))
    assert model.compiled_logits(theta.double(), x.double()) is None  # float64 takes torch's path


def test_the_sgd_cells_curve_is_the_straightforward_one(mnist_root):
    """The default suite's SGD cell (three rounds) traced twice: every point's numbers are the same."""
    registry, cell, problem, model = default_cell_parts(test_images=400)
    params = {**cell.optimizer.params, "max_models": 96}
    curves = {}
    for kind in (Trajectory, Straightforward):
        trajectory = kind(problem, model)
        optimizer = registry.get("optimizer", "sgd").build(**params)
        outcome = optimizer.run(problem, model, Context(seed=cell.rng_seed, loss_bin=cell.loss_bin, trajectory=trajectory))
        curves[kind] = trajectory
    fast, plain = curves[Trajectory], curves[Straightforward]
    assert plain.unchanged > len(plain.points)  # frozen models were there to skip
    assert outcome.counters["tested"] == 96 and len(fast.points) == len(plain.points) >= 20
    columns = [i for i, name in enumerate(FIELDS) if name != "seconds"]
    for ours, theirs in zip(fast.points, plain.points):
        for i in columns:
            assert ours[i] == theirs[i] or math.isnan(ours[i]) and math.isnan(theirs[i]), (FIELDS[i], ours, theirs)


def test_a_point_after_a_round_change_evaluates_every_new_model(mnist_root):
    """Rows equal to the last point's keep their accuracy; any other row, even one bit apart, is evaluated."""
    _, _, problem, model = default_cell_parts(test_images=300)
    trajectory = Trajectory(problem, model)
    theta = model.init_uniform(6, 1.0, torch.Generator().manual_seed(1))
    first = trajectory.test_accuracy(theta)
    moved = theta.clone()
    moved[2, 0] = torch.nextafter(moved[2, 0], torch.tensor(2.0))  # one parameter one float apart
    moved[4] = model.init_uniform(1, 1.0, torch.Generator().manual_seed(2))[0]
    again = trajectory.test_accuracy(moved)
    assert torch.equal(again, straightforward_accuracy(model, moved, problem.x_test, problem.y_test))
    assert torch.equal(again[[0, 1, 3, 5]], first[[0, 1, 3, 5]])
    assert trajectory.test_accuracy(moved[:4]).tolist() == again[:4].tolist()  # another shape: all evaluated afresh
