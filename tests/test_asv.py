"""The asv benchmarks run once, quickly, so that they cannot rot between asv runs."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from asv_bench import benchmarks  # noqa: E402

SUITES = [benchmarks.GuessCheckLeNet, benchmarks.GuessCheckKink, benchmarks.SGDPopulationStep, benchmarks.SGDPopulationRate,
          benchmarks.PatternSearchSteps, benchmarks.PatternSearchRounds, benchmarks.UnderLoad]


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


def test_the_readme_sequence_keeps_a_history(tmp_path, shared_data):
    """From a fresh clone: two commits built and compared (asv continuous), a run in this environment saved, published
    with a graph per benchmark. In a virtualenv it runs as if activated: asv's environments must see its packages."""
    from zoo.data import cache_dir

    clone = tmp_path / "zoo"
    git = ["git", "-c", "advice.detachedHead=false"]
    subprocess.run([*git, "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    subprocess.run([*git, "checkout", "-q", "-B", "main"], cwd=clone, check=True)  # asv.conf.json's branch
    subprocess.run([*git, "-c", "user.name=zoo", "-c", "user.email=zoo@example.invalid", "commit", "-q", "--allow-empty",
                    "-m", "a second commit to compare with"], cwd=clone, check=True)  # even in a shallow clone
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "HOME": str(tmp_path), "ZOO_CACHE": str(cache_dir()), "ZOO_DATA_ROOT": str(shared_data)}
    if sys.prefix != sys.base_prefix:  # activated, as the README's set-up does it
        env.update(VIRTUAL_ENV=sys.prefix, PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env['PATH']}")

    def asv(*args):
        done = subprocess.run([sys.executable, "-m", "asv", *args], cwd=clone, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        return done.stdout

    tiny = ["--quick", "-b", "SGDPopulationStep", "--machine", "ci"]
    asv("machine", "--yes", "--machine", "ci")
    # asv continuous exits 1 when it sees a regression; on a shared machine noise alone can look like one
    compared = asv("continuous", *tiny, "--factor", "1000", "HEAD~1", "HEAD")
    assert "No module named" not in compared and compared.count("time_population_step") >= 2, compared
    asv("run", "--python=same", *tiny, "--set-commit-hash", head)
    results = {path.name.split("-")[1] for path in (clone / ".asv" / "results" / "ci").glob("*-*.json")}
    assert results == {"virtualenv", "existing"}, results
    asv("publish")
    graphs = list((clone / ".asv" / "html" / "graphs" / "branch-main").rglob("*time_population_step.json"))
    points = {path.parent.name: len(json.loads(path.read_text())) for path in graphs}
    assert points.get("python-3.11" if sys.version_info[:2] == (3, 11) else f"python-{sys.version_info[0]}.{sys.version_info[1]}") == 2, points  # one point per commit
