"""Cells under load: the default suite's cells, busy loops that end with their block, and ``zoo speed --load``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, run_zoo

from zoo import manifest
from zoo.speed.contention import SPIN, busy_loops, default_suite_cell, fair_share_ratio
from zoo.registry import default_registry


def test_the_load_cells_are_the_default_suites():
    registry = default_registry()
    suite = {(cell.bench, json.dumps(cell.canonical(), sort_keys=True))
             for cell in manifest.load(REPO / "benchmarks.toml", registry).cells}
    for optimizer in ("sgd", "guess_check"):
        cell = default_suite_cell(optimizer, registry)
        assert (cell.bench, json.dumps(cell.canonical(), sort_keys=True)) in suite


def test_busy_loops_spin_inside_the_block_and_end_with_it():
    with busy_loops(2):
        loops = spinning(os.getpid())
        assert len(loops) == 2
    for pid in loops:
        assert not os.path.exists(f"/proc/{pid}")  # killed and reaped


def test_busy_loops_end_when_the_measuring_process_is_killed():
    probe = ("import time; from zoo.speed.contention import busy_loops\n"
             "with busy_loops(2):\n    time.sleep(600)")
    measuring = subprocess.Popen([sys.executable, "-c", probe])
    deadline = time.monotonic() + 60
    while len(loops := spinning(measuring.pid)) < 2:
        assert time.monotonic() < deadline and measuring.poll() is None
        time.sleep(0.05)
    measuring.kill()  # no cleanup runs
    measuring.wait()
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") and "getppid" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
              for pid in loops):
        assert time.monotonic() < deadline, "a busy loop outlived the process that started it"
        time.sleep(0.05)


def test_a_busy_loop_whose_parent_died_while_it_started_ends_at_once():
    # The measuring process can die before a loop's Python has started; the loop must not adopt its new parent.
    dead = subprocess.Popen(["true"])  # a pid that is no longer anyone's parent
    dead.wait()
    finished = subprocess.run([sys.executable, "-c", SPIN, str(dead.pid)], timeout=60)
    assert finished.returncode == 0


def spinning(parent: int) -> list[int]:
    children = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in children.splitlines() if "getppid" in line]


def test_fair_share():
    assert fair_share_ratio(threads=1, cores=2, busy=2) == 1.5  # one of three runnable threads per core pair
    assert fair_share_ratio(threads=2, cores=2, busy=2) == 2.0
    assert fair_share_ratio(threads=2, cores=16, busy=2) == 1.0  # enough idle cores for everyone


def test_openmp_threads_sleep_while_they_wait_unless_the_user_says_otherwise():
    probe = "import os, zoo, torch; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.strip() == "ACTIVE"


def test_speed_load_times_each_cell_idle_and_loaded(shared_data):
    done = run_zoo("speed", "--load", "--rounds", "1", "--format", "json", "--data-root", shared_data)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["busy"] == 2 and report["omp_wait_policy"] == os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
    assert [r["optimizer"] for r in report["results"]] == ["sgd", "guess_check"]
    for r in report["results"]:
        assert len(r["idle_s"]) == len(r["loaded_s"]) == 1 and min(r["idle_s"] + r["loaded_s"]) > 0
        assert r["ratio"] == r["loaded_s"][0] / r["idle_s"][0]
