"""The runner in process: lifecycle hooks reach observers, failing plugins do not stop a run."""

import types

import pytest

from zoo import manifest, runner
from zoo.hookspecs import hookimpl
from zoo.registry import PluginSpec, Registry, plugin_manager
from zoo.store import Store

MANIFEST = """
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp", hidden = 4 }
optimizers = [ { name = "guess_check", target = 2, max_guesses = 50000 }, { name = "explodes" } ]
matrix = { n = [4], seeds = [0, 1] }
"""


class Explodes:
    def run(self, problem, model, ctx):
        raise RuntimeError("boom")


def make_plugins(events):
    broken = types.ModuleType("broken_optimizer")
    broken.zoo_optimizers = hookimpl(lambda: [PluginSpec("explodes", Explodes, {}, "always raises")])

    class Observer:
        @hookimpl
        def zoo_run_start(self, suite, cells):
            events.append(("run_start", len(cells)))

        @hookimpl
        def zoo_cell_start(self, cell):
            events.append(("cell_start", cell.label))

        @hookimpl
        def zoo_cell_finish(self, cell, record):
            events.append(("cell_finish", record["models"]))

        @hookimpl
        def zoo_cell_error(self, cell, error):
            events.append(("cell_error", str(error)))

        @hookimpl
        def zoo_run_finish(self, suite, summary):
            events.append(("run_finish", summary["done"], summary["failed"]))

    return broken, Observer()


def test_observer_sees_every_cell_and_a_raising_plugin_does_not_stop_the_run(tmp_path):
    events = []
    registry = Registry(plugin_manager(entry_points=False, extra=make_plugins(events)))
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST)
    m = manifest.load(path, registry)
    store = Store(m.store)
    summary = runner.run(m, registry, store)
    assert summary == {"cells": 4, "skipped": 0, "done": 2, "failed": 2, "interrupted": False, "elsewhere": 0}
    assert events[0] == ("run_start", 4) and events[-1] == ("run_finish", 2, 2)
    assert events.count(("cell_error", "boom")) == 2
    assert events.count(("cell_finish", 2)) == 2
    assert len(store.records()) == 2
    # A second run retries only the failed cells.
    events.clear()
    assert runner.run(m, registry, store)["skipped"] == 2


def test_plugin_that_raises_while_registering_is_reported_not_fatal():
    bad = types.ModuleType("bad_registration")

    def zoo_models():
        raise ImportError("missing dependency")

    bad.zoo_models = hookimpl(zoo_models)
    registry = Registry(plugin_manager(entry_points=False, extra=(bad,)))
    assert "lenet" in registry.names("model")
    assert any("missing dependency" in message for _, message in registry.load_errors)


def test_unknown_plugin_suggests_a_name():
    registry = Registry(plugin_manager(entry_points=False))
    with pytest.raises(LookupError, match="did you mean 'lenet'"):
        registry.get("model", "lenett")
