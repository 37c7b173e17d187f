"""Tasks turn a data seed and a training-set size into a :class:`Problem`."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch


@dataclass(frozen=True)
class Problem:
    """One training set and its test set, as float inputs and integer labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    classes: tuple = ()  # the original labels behind 0..num_classes-1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def to(self, device) -> "Problem":
        return replace(
            self,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
        )


class Task:
    """A source of problems. Subclasses implement :meth:`sample`."""

    num_classes: int = 2
    input_shape: tuple[int, ...] = ()

    def sample(self, n: int, seed: int) -> Problem:
        """The problem with ``n`` training samples drawn with data seed ``seed``."""
        raise NotImplementedError


def balanced_indices(labels: np.ndarray, classes, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices spread as evenly as possible over ``classes`` (earlier classes get the remainder)."""
    k = len(classes)
    if n < k:
        raise ValueError(f"n={n} training samples cannot cover {k} classes; use n >= {k}")
    picks = []
    for i, cls in enumerate(classes):
        pool = np.flatnonzero(labels == cls)
        take = n // k + (1 if i < n % k else 0)
        if take > len(pool):
            raise ValueError(f"class {cls} has only {len(pool)} training samples, {take} requested")
        picks.append(rng.choice(pool, size=take, replace=False))
    return np.concatenate(picks)


def relabel(labels: np.ndarray, classes) -> np.ndarray:
    """Map original labels to 0..k-1 in the order of ``classes``."""
    lookup = {int(c): i for i, c in enumerate(classes)}
    return np.array([lookup[int(v)] for v in labels], dtype=np.int64)
