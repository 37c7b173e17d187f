"""The plugin contract.

Every optimizer, model and task in zoo, built-in or third-party, is
contributed through these hooks. A third-party package exposes a module (or
object) implementing some of them under the entry-point group ``zoo``::

    [project.entry-points.zoo]
    myplugin = "my_package.zoo_plugin"

Registration hooks return a list of :class:`zoo.registry.PluginSpec`.
Lifecycle hooks are called by the runner so that observers (loggers,
dashboards) can follow a run without touching the runner; their arguments
are the small documented types below (:class:`SuiteInfo`, :class:`RunSummary`,
:class:`CellRecord`) and :class:`zoo.cells.Cell`. A hook function may take
any subset of a hook's arguments, by name. A ``zoo_*`` function whose name
matches no hook is reported when the plugin loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import pluggy

if TYPE_CHECKING:
    from zoo.cells import Cell
    from zoo.registry import PluginSpec

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@dataclass(frozen=True)
class SuiteInfo:
    """What a lifecycle hook learns about the run: a few fields, not the whole manifest."""

    name: str  # the manifest's suite.name (default: the file's stem)
    manifest: str  # path of the manifest file
    store: str  # path of the results store the cells are committed to
    device: str  # the device cells run on: "cpu", "cuda", ...
    benches: tuple[str, ...]  # the names of the benches that run (after --only)
    cells: int  # cells of those benches, pending or already stored

    @classmethod
    def of(cls, manifest, device) -> "SuiteInfo":
        return cls(manifest.name, str(manifest.path), str(manifest.store), str(device),
                   tuple(bench.name for bench in manifest.benches), len(manifest.cells))


class RunSummary(TypedDict):
    """The counts ``zoo_run_finish`` receives (and :func:`zoo.runner.run` returns)."""

    cells: int  # cells of the manifest
    skipped: int  # already in the store, not run
    done: int  # run and committed now
    failed: int  # raised; see zoo_cell_error
    interrupted: bool  # Ctrl-C or SIGTERM stopped the run between cells
    elsewhere: int  # left to another runner sharing the store (running or stored by it meanwhile)


class Summary(TypedDict):
    """``mean``, ``std`` (population), ``min`` and ``max`` of the reported models; all ``None`` without models."""

    mean: float | None
    std: float | None
    min: float | None
    max: float | None


class Acceptance(TypedDict):
    """The acceptance rate ``accepted / tested`` with its exact 95% Clopper-Pearson interval."""

    rate: float
    ci_low: float
    ci_high: float
    tested: int
    accepted: int


class _CurveKeys(TypedDict):
    evals: list[float]  # forward evaluations spent (models evaluated on the whole training set)
    seconds: list[float]  # the optimizer's time since the cell started
    train_loss: list[float]  # mean normalized train loss of the traced models
    train_acc: list[float]  # their mean train accuracy


class Curve(_CurveKeys, total=False):
    """The anytime curve of a cell: parallel lists, one entry per kept point, cost ascending."""

    test_acc: list[float]  # their mean test accuracy: only when the bench sets anytime_test_accuracy = true


class _CellRecordKeys(TypedDict):
    models: int  # reported models
    test_acc: Summary  # test accuracy, fractions in [0, 1]
    train_acc: Summary  # train accuracy, fractions in [0, 1]
    train_loss: Summary  # normalized train loss
    test_acc_values: list[float]  # one per reported model
    train_loss_values: list[float]  # one per reported model
    counters: dict[str, float]  # the optimizer's Outcome.counters, as floats
    wall_time: float  # seconds the optimizer ran


class CellRecord(_CellRecordKeys, total=False):
    """The metrics of a finished cell, as committed to the store (``zoo_cell_finish``'s ``record``).

    ``acceptance`` and ``throughput`` (``tested`` per second) are present when
    the optimizer counted ``tested`` > 0; ``trajectory`` when it traced its
    models (``ctx.trace``); ``diagnostics`` when the optimizer returned some
    (``Outcome.diagnostics``: the volume estimators' levels, for instance).
    """

    acceptance: Acceptance
    throughput: float | None
    trajectory: Curve
    diagnostics: dict


@hookspec
def zoo_optimizers() -> list[PluginSpec]:
    """Return a list of optimizer :class:`~zoo.registry.PluginSpec`.

    ``spec.build(**params)`` must return an object with a
    ``run(problem, model, ctx) -> Outcome`` method (see :mod:`zoo.optimizer`).
    """


@hookspec
def zoo_models() -> list[PluginSpec]:
    """Return a list of model :class:`~zoo.registry.PluginSpec`.

    ``spec.build(input_shape=..., num_classes=..., **params)`` must return a
    :class:`zoo.population.PopulationModel`.
    """


@hookspec
def zoo_tasks() -> list[PluginSpec]:
    """Return a list of task :class:`~zoo.registry.PluginSpec`.

    ``spec.build(**params)`` must return a :class:`zoo.task.Task`.
    """


@hookspec
def zoo_run_start(suite: SuiteInfo, cells: list[Cell]) -> None:
    """Called once before the first cell of a run, with every pending cell (stored ones are skipped)."""


@hookspec
def zoo_cell_start(cell: Cell) -> None:
    """Called before a cell runs (with a remote executor: when it is submitted)."""


@hookspec
def zoo_cell_finish(cell: Cell, record: CellRecord) -> None:
    """Called after a cell's record was committed to the store."""


@hookspec
def zoo_cell_error(cell: Cell, error: BaseException) -> None:
    """Called when a cell raised; the run continues with the next cell."""


@hookspec
def zoo_run_finish(suite: SuiteInfo, summary: RunSummary) -> None:
    """Called once after the last cell, also after an interruption."""
