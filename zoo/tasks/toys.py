"""Two-dimensional toy tasks for looking at decision boundaries.

Each task has two layouts: the reference implementation's (``"reference"``,
the paper's Figures 2 and 3) and zoo's own (``"uniform"``).

Reference layouts draw from a fixed pool of points shuffled by the data seed;
``n`` counts training and test points together, as in the reference: the
first ``int(0.7 n)`` shuffled points are the training set, the last
``int(0.3 n)`` the test set (11 and 4 at n = 16, 140 and 60 at n = 200).

``kink`` (reference): 2,000 evenly spaced points on each of two ∧-shaped
curves, x2 = -|x1| (class 1) and x2 = -|x1| + margin (class 0; margin 0.25),
x1 in [-1, 1].

``slab`` (reference): four horizontal slabs of 400 uniform points each,
alternating sides: the top and third slabs lie left (x1 in [-1, -0.1],
class 1), the second and fourth right (x1 in [0.1, 1], class 0), slabs 0.35
high with gaps of 0.2. A vertical line separates the classes (a linear
rule), and so does a zigzag through the gaps (a non-linear rule);
:mod:`zoo.tasks.slab_rules` probes which one a model follows.

``kink`` (uniform): points uniform in [-1, 1]^2, class 1 above the V-shaped curve
x2 = |x1| - 0.5; points whose vertical distance to the curve is below
``margin`` are rejected, so every training set is separable with that margin.

``slab``: the simplicity-bias data. Class 1 has x1 in [margin, 1] and class 0
x1 in [-1, -margin] (a linear rule); along x2 class 1 lies in the middle slab
|x2| <= 1/3 - margin/2 and class 0 in the two outer slabs |x2| >= 1/3 + margin/2
(a non-linear rule). Both coordinates separate the classes on their own.

Uniform layouts draw n training points and 2,000 test points afresh.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.hookspecs import hookimpl
from zoo.registry import Param, PluginSpec
from zoo.task import Problem, Task

TEST_SIZE = 2000


def kink_boundary(x1: np.ndarray) -> np.ndarray:
    return np.abs(x1) - 0.5


def sample_kink(count: int, margin: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    points = np.empty((0, 2))
    while len(points) < count:
        cand = rng.uniform(-1, 1, size=(4 * count, 2))
        keep = np.abs(cand[:, 1] - kink_boundary(cand[:, 0])) >= margin
        points = np.concatenate([points, cand[keep]])
    points = points[:count]
    return points, (points[:, 1] > kink_boundary(points[:, 0])).astype(np.int64)


def sample_slab(count: int, margin: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.permutation(np.arange(count) % 2)
    x1 = rng.uniform(margin, 1, size=count) * np.where(labels == 1, 1, -1)
    third = 1 / 3
    middle = rng.uniform(-(third - margin / 2), third - margin / 2, size=count)
    outer = rng.uniform(third + margin / 2, 1, size=count) * rng.choice([-1, 1], size=count)
    x2 = np.where(labels == 1, middle, outer)
    return np.stack([x1, x2], axis=1), labels


KINK_POINTS = 2000  # per curve
SLAB_POINTS, SLABS, SLAB_GAP, SLAB_SIDE_GAP = 400, 4, 0.2, 0.1  # per slab; gaps between slabs and from x1 = 0
TRAIN_SHARE, TEST_SHARE = 0.7, 0.3


def kink_curves(margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The reference's kink pool: points on x2 = -|x1| (class 1) and on the same curve raised by ``margin`` (class 0)."""
    x1 = np.concatenate([np.linspace(-1, 0, KINK_POINTS // 2), np.linspace(0, 1, KINK_POINTS // 2)])
    lower = np.stack([x1, -np.abs(x1)], axis=1)
    upper = lower + np.array([0.0, margin])
    return np.concatenate([lower, upper]), np.concatenate([np.ones(KINK_POINTS), np.zeros(KINK_POINTS)]).astype(np.int64)


def slab_height() -> float:
    return (2 - (SLABS - 1) * SLAB_GAP) / SLABS


def alternating_slabs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The reference's slab pool: four slabs from the top down, left (class 1) and right (class 0) in turn."""
    height, points, labels = slab_height(), [], []
    for i in range(SLABS):
        top = 1 - i * (height + SLAB_GAP)
        left = i % 2 == 0
        x1 = rng.uniform(-1, -SLAB_SIDE_GAP, SLAB_POINTS) if left else rng.uniform(SLAB_SIDE_GAP, 1, SLAB_POINTS)
        points.append(np.stack([x1, rng.uniform(top - height, top, SLAB_POINTS)], axis=1))
        labels.append(np.full(SLAB_POINTS, 1 if left else 0))
    return np.concatenate(points), np.concatenate(labels).astype(np.int64)


def split_pool(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    """Shuffle the pool; the first int(0.7 n) points train, the last int(0.3 n) test."""
    order = rng.permutation(len(y))
    train, test = order[: int(n * TRAIN_SHARE)], order[len(order) - int(n * TEST_SHARE):]
    return x[train], y[train], x[test], y[test]


def as_problem(x_train, y_train, x_test, y_test) -> Problem:
    as_x = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float()  # noqa: E731
    return Problem(as_x(x_train), torch.from_numpy(y_train), as_x(x_test), torch.from_numpy(y_test), 2, (0, 1))


class ReferenceToy(Task):
    """A 2-D binary task drawn from a fixed pool of points, split as the reference splits it."""

    def __init__(self, pool):
        self.pool = pool  # rng -> (x, y)
        self.num_classes, self.input_shape = 2, (2,)

    def sample(self, n: int, seed: int) -> Problem:
        if int(n * TRAIN_SHARE) < 1 or int(n * TEST_SHARE) < 1:
            raise ValueError(f"n={n} leaves no training or no test point (n counts both; int(0.7 n) train, int(0.3 n) test)")
        rng = np.random.default_rng([seed, 0x2E])
        x, y = self.pool(rng)
        return as_problem(*split_pool(x, y, n, rng))


class Toy2D(Task):
    """A 2-D binary task whose training and test sets come from one sampler."""

    def __init__(self, sampler, margin):
        if not 0 <= margin < 0.5:
            raise ValueError(f"margin must lie in [0, 0.5), got {margin}")
        self.sampler, self.margin = sampler, margin
        self.num_classes, self.input_shape = 2, (2,)

    def sample(self, n: int, seed: int) -> Problem:
        rng = np.random.default_rng([seed, 0x2D])
        x_train, y_train = self.sampler(n, self.margin, rng)
        x_test, y_test = self.sampler(TEST_SIZE, self.margin, rng)
        return as_problem(x_train, y_train, x_test, y_test)


LAYOUTS = ("reference", "uniform")


def kink(margin=0.25, layout="uniform"):
    if layout == "reference":
        if margin <= 0:
            raise ValueError(f"margin must be > 0 (the offset between the two curves), got {margin}")
        return ReferenceToy(lambda rng: kink_curves(margin))
    return Toy2D(sample_kink, margin)


def slab(margin=0.1, layout="uniform"):
    if layout == "reference":
        return ReferenceToy(alternating_slabs)
    return Toy2D(sample_slab, margin)


LAYOUT_HELP = ("reference: the reference's fixed pool, n = training + test points split 70/30; "
               "uniform: zoo's own sampler, n training points and 2,000 fresh test points")


@hookimpl
def zoo_tasks():
    return [
        PluginSpec("kink", kink, {
            "margin": Param(0.25, "uniform: points closer than this to the V are left out; reference: offset between the two ∧ curves"),
            "layout": Param("uniform", LAYOUT_HELP, choices=LAYOUTS),
        }, "2-D points split by a V-shaped curve (reference: on two ∧-shaped curves)"),
        PluginSpec("slab", slab, {
            "margin": Param(0.1, "uniform: gap between the classes along both rules; reference: unused (its gaps are fixed)"),
            "layout": Param("uniform", LAYOUT_HELP, choices=LAYOUTS),
        }, "2-D slab data: a linear and a slab rule (reference: four alternating slabs)"),
    ]
