"""The illustrative poisoning toy: a few 2-D points, a handful of test points.

Points are uniform in [-1, 1]^2 and their class is the side of the vertical
line x1 = 0 they lie on; points closer than ``margin`` to the line are
redrawn. A training set of n points (the manifest uses 11) is fit easily by a
small network, and the same simple rule labels the ``test`` test points (5 by
default) right. Test points lie at least ``spacing`` from every training
point and from each other, so a poisoned optimizer
(:mod:`zoo.optimizers.poisoned`) can fit the training points and still get
every test point wrong by bending the decision boundary: a bad minimum that
exists, and a small one.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.hookspecs import hookimpl
from zoo.registry import Param, PluginSpec
from zoo.task import Problem, Task


def sample_halves(count: int, margin: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` points of [-1, 1]^2 at least ``margin`` from the line x1 = 0."""
    points = np.empty((0, 2))
    while len(points) < count:
        cand = rng.uniform(-1, 1, size=(4 * count, 2))
        points = np.concatenate([points, cand[np.abs(cand[:, 0]) >= margin]])
    return points[:count]


def spaced_points(count: int, taken: np.ndarray, margin: float, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` points like :func:`sample_halves`, each ``spacing`` away from ``taken`` and each other."""
    points = np.empty((0, 2))
    for _ in range(10_000):
        if len(points) == count:
            return points
        cand = sample_halves(1, margin, rng)
        others = np.concatenate([taken, points])
        if np.linalg.norm(others - cand, axis=1).min(initial=np.inf) >= spacing:
            points = np.concatenate([points, cand])
    raise ValueError(f"cannot place {count} test points {spacing} apart from the training points; lower spacing or test")


class PoisonToy(Task):
    def __init__(self, test=5, margin=0.1, spacing=0.3):
        if test < 1 or not 0 <= margin < 1 or spacing < 0:
            raise ValueError(f"poison_toy needs test >= 1, margin in [0, 1) and spacing >= 0, got {test}, {margin}, {spacing}")
        self.test, self.margin, self.spacing = test, margin, spacing
        self.num_classes, self.input_shape = 2, (2,)

    def sample(self, n: int, seed: int) -> Problem:
        rng = np.random.default_rng([seed, 0x7015])
        x_train = sample_halves(n, self.margin, rng)
        x_test = spaced_points(self.test, x_train, self.margin, self.spacing, rng)
        label = lambda x: torch.from_numpy((x[:, 0] > 0).astype(np.int64))  # noqa: E731
        as_x = lambda x: torch.from_numpy(x).float()  # noqa: E731
        return Problem(as_x(x_train), label(x_train), as_x(x_test), label(x_test), 2, (0, 1))


@hookimpl
def zoo_tasks():
    return [
        PluginSpec(
            "poison_toy",
            PoisonToy,
            {
                "test": Param(5, "test points"),
                "margin": Param(0.1, "every point lies at least this far from the line x1 = 0"),
                "spacing": Param(0.3, "every test point lies at least this far from the training points and the other test points"),
            },
            "2-D points split by x1 = 0 with a few test points, for poisoning (11 train, 5 test in its manifest)",
        )
    ]
