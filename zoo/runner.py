"""The runner: expand, skip what is stored, execute, commit each cell, report.

Each finished cell is committed on its own, so Ctrl-C, SIGTERM or a crash
loses at most the cell in flight, and re-running the same manifest resumes
where it stopped. A cell that raises is reported with the package behind the
failing plugin and the run goes on.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch
from rich.text import Text

from zoo import staleness
from zoo.cells import Cell
from zoo.checkpoints import DEFAULT_SECONDS, Checkpointer, Saved
from zoo.data import set_data_root
from zoo.environment import describe, resolve_device
from zoo.errors import ZooError
from zoo.executors import LocalExecutor
from zoo.hookspecs import SuiteInfo
from zoo.leases import LEASE_SECONDS, Heartbeat, is_stale, new_holder
from zoo.metrics import cell_metrics
from zoo.observers import Observers
from zoo.optimizer import Context
from zoo.progress import LiveProgress
from zoo.registry import Registry, default_registry
from zoo.store import CheckpointTable, Store
from zoo.trajectory import Trajectory


@dataclass
class CellResult:
    metrics: dict
    params: torch.Tensor | None
    final_state: tuple[str, bytes] | None = None  # the optimizer's last checkpoint, committed with the row


@dataclass
class CellWork:
    """Runs one cell. The local executor calls it in this process; a remote one ships :meth:`shippable`.

    Checkpoints are read and written here, in the process that holds the
    store: in this process the cell's checkpointer writes the store itself
    (its own connection); a remote cell gets its saved progress shipped with
    it (:meth:`saved_for`) and posts new checkpoints back, which this process
    writes (:meth:`keep`). Only the ``zoo bench`` process ever opens the store.
    """

    device: str
    keep_params: bool
    data_root: str | None = None  # the manifest's or the command line's; another process must be told
    registry: Registry | None = None  # None: build the default registry where the cell runs
    progress: Callable | None = None
    store: str | None = None  # the store's path, for checkpoints; None: none
    checkpoint_seconds: float = DEFAULT_SECONDS
    warn: Callable[[str], None] | None = None

    def __call__(self, cell: Cell) -> CellResult:
        table = self._table(cell)
        try:
            if table is None:
                return self.run_from(cell, None, None)
            return self.run_from(cell, table.load(cell.experiment_id), table.save)
        finally:
            if table is not None:
                table.close()

    def run_from(self, cell: Cell, saved: Saved | None, post: Callable | None) -> CellResult:
        """Run ``cell`` from ``saved`` progress; ``post(experiment, cell_id, header, data)`` takes its checkpoints.

        Without ``post`` the cell runs without checkpoints.
        """
        if self.data_root is not None:
            set_data_root(self.data_root)
        registry = self.registry or default_registry()
        checkpoints = None
        if post is not None and self.checkpoint_seconds > 0:
            checkpoints = Checkpointer(self.checkpoint_seconds, saved,
                                       lambda header, data: post(cell.experiment_id, cell.id, header, data),
                                       lambda text: self._warn(f"{cell.describe()}: {text}"))
        return run_cell(cell, registry, torch.device(self.device), self.keep_params, self.progress, checkpoints)

    @property
    def checkpointing(self) -> bool:
        return self.store is not None and self.checkpoint_seconds > 0

    def saved_for(self, cell: Cell) -> Saved | None:
        """The progress stored for ``cell``'s experiment, read in this process to ship with a remote cell."""
        table = self._table(cell)
        if table is None:
            return None
        try:
            return table.load(cell.experiment_id)
        finally:
            table.close()

    def keep(self, posted: list[tuple[str, str, str, bytes]]) -> None:
        """Write checkpoints that remote cells posted, only the latest of each experiment."""
        latest = {experiment: (experiment, cell_id, header, data) for experiment, cell_id, header, data in posted}
        if not latest:
            return
        try:
            table = CheckpointTable(self.store)
        except sqlite3.Error as error:
            self._warn(f"cannot save checkpoints to {self.store} ({error}); the cells go on without")
            return
        try:
            for experiment, cell_id, header, data in latest.values():
                table.save(experiment, cell_id, header, data)
        except sqlite3.Error as error:
            self._warn(f"cannot save a checkpoint to {self.store} ({error}); the cell goes on")
        finally:
            table.close()

    def shippable(self) -> "CellWork":
        """A copy without what lives only in this process: the store, the registry, the live progress, the console."""
        return CellWork(self.device, self.keep_params, self.data_root, checkpoint_seconds=self.checkpoint_seconds)

    def _table(self, cell: Cell) -> CheckpointTable | None:
        if not self.checkpointing:
            return None
        try:
            return CheckpointTable(self.store)
        except sqlite3.Error as error:
            self._warn(f"{cell.describe()}: no checkpoints: cannot open {self.store} ({error})")
            return None

    def _warn(self, text: str) -> None:
        (self.warn or (lambda line: print(f"warning: {line}", file=sys.stderr)))(text)


def run_cell(cell: Cell, registry: Registry, device: torch.device, keep_params: bool = False, progress=None,
             checkpoints: Checkpointer | None = None) -> CellResult:
    """Build the cell's task, model and optimizer through the registry and run it (resuming from ``checkpoints``)."""
    task = registry.get("task", cell.task.name).build(**cell.task.params)
    problem = task.sample(cell.n, cell.seed).to(device)
    model = registry.get("model", cell.model.name).build(
        input_shape=problem.input_shape, num_classes=problem.num_classes, **cell.model.params
    )
    optimizer = registry.get("optimizer", cell.optimizer.name).build(**cell.optimizer.params)
    trajectory = Trajectory(problem, model, test=cell.anytime_test_accuracy)
    ctx = Context(seed=cell.rng_seed, device=device, loss_bin=cell.loss_bin, keep_params=keep_params,
                  progress=progress or (lambda **counters: None), trajectory=trajectory, checkpoints=checkpoints)
    start = time.perf_counter()
    outcome = optimizer.run(problem, model, ctx)
    wall = time.perf_counter() - start
    if checkpoints is not None:
        wall += checkpoints.before  # the time earlier runs spent on the progress this one continued
    metrics = cell_metrics(outcome, wall)
    if trajectory.points:
        metrics["trajectory"] = trajectory.as_dict()
    if checkpoints is not None and checkpoints.resumed_from is not None:
        metrics["resumed"] = {"from": checkpoints.resumed_from, "seconds_before": checkpoints.before}
    return CellResult(metrics, outcome.params if keep_params else None, checkpoints.final if checkpoints else None)


def blame(cell: Cell, registry: Registry) -> str:
    """Which packages stand behind a cell's plugins, for error messages."""
    parts = []
    for kind, comp in (("optimizer", cell.optimizer), ("model", cell.model), ("task", cell.task)):
        origin = registry.get(kind, comp.name).origin
        if origin != "built-in":
            parts.append(f"{kind} {comp.name!r} from {origin}")
    return "; ".join(parts) or "built-in plugins"


def check_data(cells: list[Cell], registry: Registry) -> None:
    """Draw each distinct task's largest training set once, before any cell runs.

    Missing, damaged or refused data, or a training set larger than the data
    holds, is bad input (exit 2) found now, not the same failure of every cell.
    """
    largest: dict[str, Cell] = {}
    for cell in cells:
        key = json.dumps([cell.task.name, cell.task.params], sort_keys=True, default=repr)
        if key not in largest or cell.n > largest[key].n:
            largest[key] = cell
    for cell in largest.values():
        origin = registry.get("task", cell.task.name).origin
        try:
            registry.get("task", cell.task.name).build(**cell.task.params).sample(cell.n, cell.seed)
        except ZooError as error:
            raise ZooError(f"bench {cell.bench}: task {cell.task.name!r}: {error}") from None
        except Exception as error:  # a task plugin's own exception: still the data, before any cell
            raise ZooError(f"bench {cell.bench}: task {cell.task.name!r} ({origin}) cannot draw n={cell.n} "
                           f"with seed {cell.seed}: {type(error).__name__}: {error}") from None


@contextmanager
def sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C so a killed run stops between commits, cleanly."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(manifest, registry: Registry, store: Store, rerun: bool = False, executor=None, console=None,
        rerun_stale: bool = False, checkpoint_seconds: float | None = None) -> dict:
    """Run every pending cell of ``manifest``; returns the summary counts.

    ``rerun`` runs stored cells again too; ``rerun_stale`` only those whose
    plugins changed version since they were stored (:mod:`zoo.staleness`).
    Cells save their progress every ``checkpoint_seconds`` (default: the
    manifest's ``checkpoint_seconds``; 0: never) and continue from it.
    """
    device = resolve_device(manifest.device, manifest.device_key)
    env = describe(device)
    executor = executor or LocalExecutor()
    cells = manifest.cells
    done = set() if rerun else store.done_ids()
    again: set = set()  # stored cells to run again: their plugins changed version
    if rerun_stale and done:
        benches = sorted({cell.bench for cell in cells})
        again = set(staleness.stale(store.records(benches), registry))
        done -= again
    pending = [c for c in cells if c.id not in done]
    summary = {"cells": len(cells), "skipped": len(cells) - len(pending), "done": 0, "failed": 0, "interrupted": False,
               "elsewhere": 0}
    check_data(pending, registry)
    bar = LiveProgress(len(pending), console)
    hook = Observers(registry, lambda text: bar.console.print(Text(text, style="yellow")))
    suite = SuiteInfo.of(manifest, device)
    hook.call("zoo_run_start", suite=suite, cells=pending)

    root = str(manifest.data_root) if manifest.data_root is not None else None
    seconds = manifest.checkpoint_seconds if checkpoint_seconds is None else checkpoint_seconds
    work = CellWork(str(device), manifest.keep_params, root, registry, bar.update, str(store.path), seconds,
                    lambda text: bar.console.print(Text(f"warning: {text}", style="yellow")))

    def started(cell):
        hook.call("zoo_cell_start", cell=cell)
        bar.start_cell(cell)

    # Several runners may share the store: each cell is leased before it starts, and one that another live
    # runner holds or has stored is left to it. Cells left to a runner that has died since get a second look.
    holder = new_holder()
    elsewhere: list[Cell] = []

    def take(cell) -> bool:
        again_now = rerun or cell.id in again
        if not store.claim(cell.id, holder, LEASE_SECONDS, again_now, is_stale):
            return False
        if again_now:  # run again means from the start: no stored progress carries over
            store.drop_checkpoint(cell.experiment_id)
        return True

    def claimed():
        for cell in pending:
            if take(cell):
                yield cell
            else:
                elsewhere.append(cell)
        for cell in list(elsewhere):
            if take(cell):
                elsewhere.remove(cell)
                yield cell
        summary["elsewhere"] = len(elsewhere)
        bar.shrink(len(elsewhere))

    try:
        with sigterm_as_interrupt(), bar, Heartbeat(store.path, holder):
            for cell, result in executor.map(claimed(), work, started):
                if isinstance(result, Exception):
                    summary["failed"] += 1
                    # the exception text and the cell's labels are a plugin's or a manifest's: printed literally
                    message = Text("failed", style="red").append(
                        f" {cell.describe()}: {type(result).__name__}: {result} ({blame(cell, registry)})")
                    hook.call("zoo_cell_error", cell=cell, error=result)
                    bar.finish_cell(cell, message)
                    continue
                store.add(cell, result.metrics, {**env, "plugins": staleness.plugin_versions(cell, registry)},
                          result.params, result.final_state)
                summary["done"] += 1
                hook.call("zoo_cell_finish", cell=cell, record=result.metrics)
                bar.finish_cell(cell, seconds=result.metrics["wall_time"], counters=result.metrics["counters"])
    except KeyboardInterrupt:
        summary["interrupted"] = True
    finally:
        store.release(holder)
        hook.call("zoo_run_finish", suite=suite, summary=summary)
    return summary
