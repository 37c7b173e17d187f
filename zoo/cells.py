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
    budgets: frozenset = frozenset()  # keys the random streams do not derive from (zoo.registry.PluginSpec.outside_streams)

    def canonical(self) -> dict:
        return {"name": self.name, "params": self.params, **({"label": self.label} if self.label else {})}

    def experiment(self) -> dict:
        """:meth:`canonical` without the budget keys: what the random streams derive from."""
        params = {k: v for k, v in self.params.items() if k not in self.budgets}
        return {"name": self.name, "params": params, **({"label": self.label} if self.label else {})}


@dataclass(frozen=True)
class Cell:
    """One point of the matrix: what a lifecycle hook's ``cell`` is.

    ``suite`` and ``bench`` name where it comes from and ``report`` the
    bench's layout; ``task``, ``model`` and ``optimizer`` are
    :class:`Component` (plugin ``name``, fully resolved ``params``, the
    optimizer's ``label``); ``n`` is the training-set size, ``loss_bin`` the
    ``(lo, hi)`` bin or ``None``, ``seed`` the data seed and ``axes`` the
    values of the bench's extra matrix axes; ``anytime_test_accuracy`` whether
    the anytime curve's points carry test accuracy. ``id`` is stable across
    runs; ``describe()`` is the one-line text the progress display shows.
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
    # How the anytime curve is recorded, not what the cell finds: outside the id, so a store's cells stay its own.
    anytime_test_accuracy: bool = False

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

    def experiment(self) -> dict:
        """:meth:`canonical` without the optimizer's budgets, targets and step caps: what defines the experiment.

        Raising ``max_guesses`` or ``target`` changes the cell (its id) but not
        the experiment: the random streams are the same, so the first models
        found are the same and the stored progress carries over.
        """
        return {**self.canonical(), "optimizer": self.optimizer.experiment()}

    @property
    def rng_seed(self) -> int:
        """The optimizer's seed: the data seed plus every parameter but budgets, so bins and n draw independent streams."""
        return derive_seed(json.dumps(self.experiment(), sort_keys=True))

    @property
    def experiment_id(self) -> str:
        """Like :attr:`id` without the budgets: cells that differ only in budgets share it (and their progress)."""
        key = {"bench": self.bench, **self.spec(), "optimizer": self.optimizer.experiment()}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return self.optimizer.label or self.optimizer.name

    def describe(self) -> str:
        bin_text = f" bin ({self.loss_bin[0]:g}, {self.loss_bin[1]:g}]" if self.loss_bin else ""
        axes = "".join(f" {k}={v}" for k, v in self.axes.items())
        return f"{self.bench}: {self.label} n={self.n}{bin_text} seed={self.seed}{axes}"
