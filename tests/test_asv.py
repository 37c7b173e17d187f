"""The asv benchmarks run once, quickly, so that they cannot rot between asv runs."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from asv_bench import benchmarks  # noqa: E402

SUITES = [benchmarks.GuessCheckLeNet, benchmarks.GuessCheckKink, benchmarks.SGDPopulationStep,
          benchmarks.PatternSearchSteps, benchmarks.UnderLoad]


def combinations(suite):
    params = getattr(suite, "params", ())
    return list(itertools.product(*params)) if params else [()]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__)
def test_benchmarks_run_once(suite, mnist_root, monkeypatch):
    monkeypatch.setattr(benchmarks, "SECONDS", 0.2)
    for params in combinations(suite):
        bench = suite()
        bench.setup(*params)
        for name in dir(bench):
            if name.startswith("track_"):
                assert getattr(bench, name)(*params) > 0, (suite.__name__, params)
            elif name.startswith("time_"):
                assert getattr(bench, name)(*params) is None


def test_asv_finds_the_benchmarks():
    conf = json.loads((REPO / "asv.conf.json").read_text())
    assert (REPO / conf["benchmark_dir"] / "benchmarks.py").is_file()
    done = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "No problems found" in done.stdout, done.stdout + done.stderr
