"""Poisoned problems: the clean training set plus test points with wrong labels (Table 1).

The poisoned optimizers (:mod:`zoo.optimizers.poisoned`) search them; the
cost model (:mod:`zoo.speed.estimate`) prices a poisoned Guess & Check cell on
the same problem.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from zoo.task import Problem


def wrong_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The derangement c -> (c + 1) mod k: every label moves, two classes swap."""
    return (y + 1) % num_classes


def poison_points(problem: Problem, poison: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``poison`` test points (0: all of them) with their wrong labels."""
    available = len(problem.y_test)
    if poison < 0 or poison > available:
        raise ValueError(f"poison must lie in 0..{available} (the test set's size; 0 takes all of it), got {poison}")
    count = poison or available
    return problem.x_test[:count], wrong_labels(problem.y_test[:count], problem.num_classes)


def poisoned_problem(problem: Problem, poison: int, repeat: int = 1) -> Problem:
    """The clean training set ``repeat`` times, then the poison points with wrong labels."""
    x_poison, y_poison = poison_points(problem, poison)
    reps = (repeat,) + (1,) * (problem.x_train.dim() - 1)
    return replace(
        problem,
        x_train=torch.cat([problem.x_train.repeat(reps), x_poison]),
        y_train=torch.cat([problem.y_train.repeat(repeat), y_poison]),
    )
