"""Testing plugins in process: run a manifest with your plugin and look at what it stored.

Like pytest's ``pytester``: :func:`run_manifest` checks and runs a manifest
exactly as ``zoo bench`` does (the same validation, runner and store) but in
the calling process, with the plugin modules or objects you pass registered
next to the built-ins, the store in a folder of your choice, and no output.
It returns the stored records, the run's summary and every lifecycle hook
call, so an optimizer, a model, a task and an observer can all be tested
end to end::

    from zoo.api import run_manifest

    def test_hill_climb_fits_the_kink(tmp_path):
        run = run_manifest(MANIFEST, my_plugin, directory=tmp_path)
        assert run.summary["failed"] == 0
        assert all(r["metrics"]["models"] >= 1 for r in run.records)

A bad manifest raises :class:`zoo.errors.ManifestError` with the message
``zoo bench`` would print.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from zoo import manifest as manifests
from zoo import runner
from zoo.hookspecs import RunSummary, hookimpl
from zoo.registry import Registry, plugin_manager
from zoo.store import Store


@dataclass
class RunResult:
    """What :func:`run_manifest` ran: stored records, the summary, and the hook calls in order."""

    records: list[dict]  # Store.records() rows of this manifest's cells: id, bench, label, n, bin, seed, metrics, env...
    summary: RunSummary
    store: Path
    calls: list[tuple[str, dict]] = field(default_factory=list)  # (hook name, its keyword arguments)
    registry: Registry | None = None

    def hook_calls(self, name: str) -> list[dict]:
        """The keyword arguments of every call of one hook, e.g. ``hook_calls("zoo_cell_error")``."""
        return [kwargs for hook, kwargs in self.calls if hook == name]

    def records_of(self, label: str) -> list[dict]:
        """The records of one optimizer, by its label (or name when it has no label)."""
        return [r for r in self.records if r["label"] == label]


class _Recorder:
    """Records every lifecycle hook call, as pytester's reprec does."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    def zoo_run_start(self, suite, cells):
        self.calls.append(("zoo_run_start", {"suite": suite, "cells": cells}))

    @hookimpl
    def zoo_cell_start(self, cell):
        self.calls.append(("zoo_cell_start", {"cell": cell}))

    @hookimpl
    def zoo_cell_finish(self, cell, record):
        self.calls.append(("zoo_cell_finish", {"cell": cell, "record": record}))

    @hookimpl
    def zoo_cell_error(self, cell, error):
        self.calls.append(("zoo_cell_error", {"cell": cell, "error": error}))

    @hookimpl
    def zoo_run_finish(self, suite, summary):
        self.calls.append(("zoo_run_finish", {"suite": suite, "summary": summary}))


def run_manifest(manifest: str | Path, *plugins, directory: str | Path | None = None, entry_points: bool = False,
                 device: str = "cpu", data_root: str | Path | None = None, rerun: bool = False,
                 checkpoint_seconds: float | None = None) -> RunResult:
    """Check and run ``manifest`` (a path, or TOML text) with ``plugins`` registered; return what it stored.

    ``plugins`` are modules or objects with hook functions, registered beside
    the built-ins; with ``entry_points=True`` installed packages are loaded
    too. The store is ``directory/store.sqlite`` whatever the manifest says
    (``directory`` defaults to a new temporary folder), so a test never writes
    beside a real manifest; running again on the same directory resumes, as
    ``zoo bench`` does, unless ``rerun``.
    """
    directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="zoo-test-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = Path(manifest) if isinstance(manifest, Path) or "\n" not in manifest else None
    if path is None:
        path = directory / "manifest.toml"
        path.write_text(manifest)
    recorder = _Recorder()
    registry = Registry(plugin_manager(entry_points=entry_points, extra=(*plugins, recorder)))
    loaded = manifests.load(path, registry, store=str(directory / "store.sqlite"), device=device,
                            data_root=str(data_root) if data_root is not None else None)
    store = Store(loaded.store)
    try:
        quiet = Console(file=io.StringIO(), stderr=False)
        summary = runner.run(loaded, registry, store, rerun=rerun, console=quiet, checkpoint_seconds=checkpoint_seconds)
        wanted = {cell.id for cell in loaded.cells}
        records = [r for r in store.records() if r["id"] in wanted]
    finally:
        store.close()
    return RunResult(records, summary, loaded.store, recorder.calls, registry)
