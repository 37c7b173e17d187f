"""The same manifest gives the same stored results in this process and on Ray workers."""

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import REPO, run_zoo

MANIFEST = Path(__file__).parent / "manifests" / "two_executors.toml"


def test_ray_workers_store_exactly_what_the_local_executor_stores(tmp_path, shared_data):
    results = {}
    for executor in ("local", "ray"):
        out = run_zoo("bench", MANIFEST, "--executor", executor, "--store", tmp_path / f"{executor}.sqlite",
                      "--format", "json")
        assert out.returncode == 0, out.stderr
        assert re.search(r"10 cells run, 0 already in .*, 0 failed", " ".join(out.stderr.split())), out.stderr
        results[executor] = json.loads(out.stdout)
    assert results["ray"] == results["local"]
    mnist = next(t for t in results["ray"] if t["title"].startswith("mnist-folder"))
    assert mnist["rows"][0][1]["count"] == 6  # 3 accepted models x 2 seeds, drawn from the shared MNIST files


def test_bad_ray_settings_are_clear_errors_before_anything_runs(tmp_path):
    for flags, named in ((["--cpus-per-cell", "0"], "--cpus-per-cell"), (["--ray-address", "nonsense"], "--ray-address nonsense")):
        out = run_zoo("bench", MANIFEST, "--executor", "ray", *flags, "--store", tmp_path / "s.sqlite")
        assert out.returncode == 2 and named in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "s.sqlite").exists()


def test_sigterm_stops_a_ray_run_cleanly_and_keeps_every_finished_cell(tmp_path):
    store = tmp_path / "s.sqlite"
    command = [sys.executable, "-m", "zoo.cli", "bench", str(REPO / "benchmarks.toml"), "--executor", "ray",
               "--store", str(store), "--only", "mnist-2class"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    finished = 0
    for line in run.stderr:
        finished += line.startswith("[")
        if finished == 3:
            run.send_signal(signal.SIGTERM)
            break
    rest = run.stderr.read()
    assert run.wait(timeout=120) == 130, rest
    summary = re.search(r"(\d+) cells run, 0 already in .* — interrupted, run again to resume", " ".join(rest.split()))
    assert summary, rest
    with sqlite3.connect(store) as db:
        stored = db.execute("SELECT count(*) FROM cells").fetchone()[0]
    assert 3 <= stored == int(summary.group(1)) < 48
