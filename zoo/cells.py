"""A cell is one point of the benchmark matrix, with a stable id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from zoo.optimizer import derive_seed


@dataclass(frozen=True)
class Component:
    """A plugin reference with fully resolved parameters (defaults filled in)."""

    name: str
    params: dict = field(default_factory=dict)
    label: str = ""

    def canonical(self) -> dict:
        return {"name": self.name, "params": self.params, **({"label": self.label} if self.label else {})}


@dataclass(frozen=True)
class Cell:
    """One point of the matrix: what a lifecycle hook's ``cell`` is.

    ``suite`` and ``bench`` name where it comes from and ``report`` the
    bench's layout; ``task``, ``model`` and ``optimizer`` are
    :class:`Component` (plugin ``name``, fully resolved ``params``, the
    optimizer's ``label``); ``n`` is the training-set size, ``loss_bin`` the
    ``(lo, hi)`` bin or ``None``, ``seed`` the data seed and ``axes`` the
    values of the bench's extra matrix axes. ``id`` is stable across runs;
    ``describe()`` is the one-line text the progress display shows.
    """

    suite: str
    bench: str
    report: str
    task: Component
    model: Component
    optimizer: Component
    n: int
    loss_bin: tuple[float, float] | None
    seed: int
    axes: dict = field(default_factory=dict)  # extra matrix axes, e.g. {"model.width": 0.5}
    data: dict = field(default_factory=dict)  # the task's provenance: source, checksum, test set (zoo.task.Task)

    def canonical(self) -> dict:
        """Everything that determines the result; the id and the random streams derive from it."""
        return {
            "task": self.task.canonical(),
            "model": self.model.canonical(),
            "optimizer": self.optimizer.canonical(),
            "n": self.n,
            "bin": list(self.loss_bin) if self.loss_bin else None,
            "seed": self.seed,
        }

    def spec(self) -> dict:
        """What the store keeps and the id derives from: the parameters and, for a dataset, where its data came from.

        The data source is not in :meth:`canonical`: the same cell on another
        copy of the data draws the same random streams, but it is another cell.
        """
        return {**self.canonical(), **({"data": self.data} if self.data else {})}

    @property
    def id(self) -> str:
        key = {"bench": self.bench, **self.spec()}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def rng_seed(self) -> int:
        """The optimizer's seed: the data seed plus every other parameter, so bins and n draw independent streams."""
        return derive_seed(json.dumps(self.canonical(), sort_keys=True))

    @property
    def label(self) -> str:
        return self.optimizer.label or self.optimizer.name

    def describe(self) -> str:
        bin_text = f" bin ({self.loss_bin[0]:g}, {self.loss_bin[1]:g}]" if self.loss_bin else ""
        axes = "".join(f" {k}={v}" for k, v in self.axes.items())
        return f"{self.bench}: {self.label} n={self.n}{bin_text} seed={self.seed}{axes}"
