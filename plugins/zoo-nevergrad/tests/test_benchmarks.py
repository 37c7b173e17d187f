"""The plugin's asv benchmarks run once, quickly, through zoo's public CellBenchmark only."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1]
SOURCE = PLUGIN / "asv_nevergrad" / "benchmarks.py"
_spec = importlib.util.spec_from_file_location("zoo_nevergrad_benchmarks", SOURCE)
benchmarks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmarks)

SUITES = [benchmarks.KinkSearch, benchmarks.LeNetRounds]


def test_benchmarks_import_only_the_public_api():
    tree = ast.parse(SOURCE.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert modules == {"zoo.api"}


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__)
def test_benchmarks_run_once(suite):
    params = getattr(suite, "params", ())
    for combination in itertools.product(*params) if params else [()]:
        bench = suite()
        bench.setup(*combination)
        assert bench.time_cell(*combination) is None
        assert bench.track_evaluations_per_second(*combination) > 0
        assert bench.track_accepted(*combination) >= 0


def test_asv_finds_the_benchmarks():
    conf = json.loads((PLUGIN / "asv.conf.json").read_text())
    assert (PLUGIN / conf["benchmark_dir"] / "benchmarks.py").is_file()
    done = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"], cwd=PLUGIN,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "No problems found" in done.stdout, done.stdout + done.stderr
