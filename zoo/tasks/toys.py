"""Two-dimensional toy tasks for looking at decision boundaries.

``kink``: points uniform in [-1, 1]^2, class 1 above the V-shaped curve
x2 = |x1| - 0.5; points whose vertical distance to the curve is below
``margin`` are rejected, so every training set is separable with that margin.

``slab``: the simplicity-bias data. Class 1 has x1 in [margin, 1] and class 0
x1 in [-1, -margin] (a linear rule); along x2 class 1 lies in the middle slab
|x2| <= 1/3 - margin/2 and class 0 in the two outer slabs |x2| >= 1/3 + margin/2
(a non-linear rule). Both coordinates separate the classes on their own.

Test sets are 2,000 fresh points from the same distribution.
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
        as_x = lambda a: torch.from_numpy(a).float()  # noqa: E731
        return Problem(as_x(x_train), torch.from_numpy(y_train), as_x(x_test), torch.from_numpy(y_test), 2, (0, 1))


@hookimpl
def zoo_tasks():
    return [
        PluginSpec("kink", lambda margin=0.25: Toy2D(sample_kink, margin), {"margin": Param(0.25, "points closer than this to the V are left out")}, "2-D points split by a V-shaped curve"),
        PluginSpec("slab", lambda margin=0.1: Toy2D(sample_slab, margin), {"margin": Param(0.1, "gap between the classes, along both rules")}, "2-D slab data: a linear and a three-slab rule"),
    ]
