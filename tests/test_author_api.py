"""The plugin author's interface: declared parameters, typed lifecycle hooks."""

from __future__ import annotations

import itertools
import json
import re
import typing

import pytest
from torch import nn

from conftest import REPO, run_zoo
from zoo import manifest, runner
from zoo.benchmarking import CellBenchmark
from zoo.errors import ManifestError
from zoo.hookspecs import CellRecord, RunSummary, SuiteInfo, hookimpl
from zoo.module_population import module_model
from zoo.registry import KINDS, Param, PluginSpec, Registry, plugin_manager
from zoo.store import Store
from zoo.testing import run_manifest

GUIDE = REPO / "docs" / "plugins.md"

KINK = """
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp", hidden = 4 }
optimizers = [ { name = "guess_check", target = 2, max_guesses = 50000 } ]
matrix = { n = [4], bins = [0.5, 0.7], seeds = [0] }
"""


def test_every_builtin_parameter_says_what_it_means():
    registry = Registry(plugin_manager(entry_points=False))
    for kind in KINDS:
        for spec in registry.specs(kind):
            for key in spec.params:
                assert spec.help.get(key, "").strip(), f"{kind} {spec.name}: parameter {key!r} has no help"


def test_list_shows_help_type_and_choices():
    out = run_zoo("list", "optimizer", "--format", "json")
    assert out.returncode == 0, out.stderr
    specs = {s["name"]: s for s in json.loads(out.stdout)["optimizer"]}
    budget = specs["pattern_search"]["parameters"]["budget"]
    assert budget["default"] == 10_000 and budget["type"] == "int" and "population = 0" in budget["help"]
    engine = specs["guess_check"]["parameters"]["engine"]
    assert engine["choices"] == ["fast", "reference"] and engine["type"] == "str"
    assert specs["pattern_search"]["params"]["budget"] == 10_000  # defaults keep their plain mapping
    table = run_zoo("list", "optimizer", env={"COLUMNS": "80"})
    line = next(line for line in table.stdout.splitlines() if line.strip().startswith("engine ="))
    assert '"fast"' in line and "str" in line and "early rejection" in line and '(one of "fast", "reference")' in line


def test_param_declares_help_types_and_choices_once():
    spec = PluginSpec("walk", dict, {"mode": Param("a", "how to walk", choices=("a", "b")),
                                     "size": Param(1, "how far", types=(int, str)), "plain": 0.5})
    assert spec.params == {"mode": "a", "size": 1, "plain": 0.5}
    assert spec.help == {"mode": "how to walk", "size": "how far"}
    assert spec.check_params({"mode": "c"}) == [("mode", "expected one of ['a', 'b'], got 'c'")]
    assert spec.check_params({"size": "far", "plain": 2}) == []
    assert spec.type_name("size") == "int or str" and spec.type_name("plain") == "float"
    with pytest.raises(TypeError, match="'width' has no default"):
        PluginSpec("x", dict, {"width": Param(help="no default")})
    with pytest.raises(TypeError, match="help names parameters it does not have: widht"):
        PluginSpec("x", dict, {"width": 1.0}, help={"widht": "typo"})


class Tiny(nn.Module):
    def __init__(self, input_shape, num_classes, hidden=4, act="relu"):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(2, hidden), nn.ReLU() if act == "relu" else nn.Tanh(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


def test_module_model_declares_parameters():
    spec = module_model("tiny", Tiny, params={"hidden": "hidden units",
                                             "act": Param(help="activation", choices=("relu", "tanh"))})
    assert spec.params == {"hidden": 4, "act": "relu"}
    assert spec.help == {"hidden": "hidden units", "act": "activation"}
    assert spec.check_params({"act": "gelu"}) == [("act", "expected one of ['relu', 'tanh'], got 'gelu'")]
    model = spec.build(input_shape=(2,), num_classes=2, **spec.resolve({"act": "tanh"}))
    assert model.num_params == 2 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(TypeError, match="params names depth, which Tiny does not take"):
        module_model("tiny", Tiny, params={"depth": "layers"})


def test_lifecycle_hooks_get_small_documented_values(tmp_path):
    seen = {}

    class Observer:
        @hookimpl
        def zoo_run_start(self, suite, cells):
            seen["start"] = (suite, cells)

        @hookimpl
        def zoo_cell_finish(self, cell, record):
            seen["record"] = record

        @hookimpl
        def zoo_run_finish(self, suite, summary):
            seen["summary"] = summary

    registry = Registry(plugin_manager(entry_points=False, extra=(Observer(),)))
    (tmp_path / "m.toml").write_text(KINK)
    m = manifest.load(tmp_path / "m.toml", registry)
    runner.run(m, registry, Store(m.store))
    suite, cells = seen["start"]
    assert suite == SuiteInfo("m", str(tmp_path / "m.toml"), str(tmp_path / "s.sqlite"), "cpu", ("k",), 1)
    assert len(repr(suite)) < 300
    assert [c.describe() for c in cells] == ["k: guess_check n=4 bin (0.5, 0.7] seed=0"]
    required = typing.get_type_hints(CellRecord)
    # G&C counts tested and traces, so every documented key is there but the estimators' diagnostics
    assert set(seen["record"]) == set(required) - {"diagnostics"}
    assert seen["record"]["acceptance"]["accepted"] == 2
    assert set(seen["summary"]) == set(typing.get_type_hints(RunSummary))


def guide_examples() -> list[str]:
    return re.findall(r"<!-- run -->\n```python\n(.*?)```", GUIDE.read_text(), re.S)


def test_guide_examples_run(tmp_path, monkeypatch):
    """Every block marked <!-- run --> in docs/plugins.md runs: its test functions pass, its benchmarks run once."""
    monkeypatch.syspath_prepend(str(REPO / "plugins" / "zoo-example"))
    examples = guide_examples()
    assert len(examples) >= 2
    ran = 0
    for i, code in enumerate(examples):
        namespace = {"__name__": f"guide_example_{i}"}
        exec(compile(code, f"docs/plugins.md example {i}", "exec"), namespace)
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                value(tmp_path / f"{i}-{name}")
                ran += 1
            elif isinstance(value, type) and issubclass(value, CellBenchmark) and value is not CellBenchmark:
                for params in itertools.product(*getattr(value, "params", ())):
                    bench = value()
                    bench.setup(*params)
                    bench.time_cell(*params)
                    assert bench.track_evaluations_per_second(*params) > 0
                    ran += 1
    assert ran >= 3


def test_run_manifest_reports_a_bad_manifest_as_zoo_bench_does(tmp_path):
    with pytest.raises(ManifestError, match="unknown optimizer 'hill_climb'"):
        run_manifest(KINK.replace('name = "guess_check"', 'name = "hill_climb"'), directory=tmp_path)
    run = run_manifest(KINK, directory=tmp_path)
    assert run.summary == {"cells": 1, "skipped": 0, "done": 1, "failed": 0, "interrupted": False, "elsewhere": 0}
    assert run_manifest(KINK, directory=tmp_path).summary["skipped"] == 1  # resumes like zoo bench


def test_public_api_names_resolve():
    import zoo.api

    assert all(hasattr(zoo.api, name) for name in zoo.api.__all__)
    assert zoo.api.run_manifest is run_manifest and zoo.api.CellBenchmark is CellBenchmark
