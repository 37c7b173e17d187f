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

    def provenance(self) -> dict:
        """Where the data come from, as JSON-ready facts; part of each cell's identity.

        A task that reads a dataset names its source, the checksum of the
        files it reads and, under ``"test"``, which test set it measures on,
        so that numbers from two sources are never taken for one another.
        Generated data (the default, ``{}``) are fixed by the task's
        parameters alone.
        """
        return {}


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


class LabelledImages(Task):
    """A labelled image dataset from which problems pick a few classes.

    ``classes``: ``"pair"`` (two classes drawn from the data seed), ``"all"``,
    or a list of distinct class indices. Training samples are drawn evenly
    over the chosen classes; the test set is every test image of them.
    Subclasses provide :meth:`arrays` (uint8 images and labels) and
    :meth:`to_tensor` (normalized float inputs), and a ``salt`` so that two
    datasets do not draw the same class pairs from the same seed.
    """

    total_classes = 10
    salt = 0

    def __init__(self, classes="pair"):
        valid_list = (isinstance(classes, list) and len(classes) >= 2 and len(set(classes)) == len(classes)
                      and all(isinstance(c, int) and 0 <= c < self.total_classes for c in classes))
        if not (classes in ("pair", "all") or valid_list):
            raise ValueError(f'classes must be "pair", "all" or a list of at least two distinct class indices '
                             f'0-{self.total_classes - 1}, got {classes!r}')
        self.classes = classes
        self.num_classes = 2 if classes == "pair" else self.total_classes if classes == "all" else len(classes)

    def arrays(self) -> dict[str, np.ndarray]:
        """``x_train``, ``y_train``, ``x_test``, ``y_test`` as NumPy arrays."""
        raise NotImplementedError

    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def choose_classes(self, rng: np.random.Generator) -> tuple[int, ...]:
        if self.classes == "pair":
            return tuple(int(c) for c in np.sort(rng.choice(self.total_classes, size=2, replace=False)))
        if self.classes == "all":
            return tuple(range(self.total_classes))
        return tuple(self.classes)

    def sample(self, n: int, seed: int) -> Problem:
        arrays = self.arrays()
        rng = np.random.default_rng([seed, self.salt])
        classes = self.choose_classes(rng)
        train = balanced_indices(arrays["y_train"], classes, n, rng)
        test = np.flatnonzero(np.isin(arrays["y_test"], classes))
        return Problem(
            x_train=self.to_tensor(arrays["x_train"][train]),
            y_train=torch.from_numpy(relabel(arrays["y_train"][train], classes)),
            x_test=self.to_tensor(arrays["x_test"][test]),
            y_test=torch.from_numpy(relabel(arrays["y_test"][test], classes)),
            num_classes=len(classes),
            classes=classes,
        )
