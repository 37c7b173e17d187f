"""Runners share a store's work, and killing them at random moments loses and repeats no cell.

Every test runs real ``zoo bench`` processes on one store.
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest

MANIFEST = """
[suite]
store = "r.sqlite"
device = "cpu"
[[bench]]
name = "shared"
task = { name = "kink" }
model = { name = "mlp", hidden = 8 }
optimizers = [ { name = "sgd", lr = 0.05, epochs = EPOCHS, init = "default", population = 8, target = 8, max_models = 8 } ]
[bench.matrix]
n = [16]
seeds = { from = 0, count = CELLS }
"""


CAMPAIGN_CELLS = 16


def manifest(tmp_path, cells: int, epochs: int):
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST.replace("CELLS", str(cells)).replace("EPOCHS", str(epochs)))
    return path


def start(path):
    return subprocess.Popen([sys.executable, "-m", "zoo.cli", "bench", str(path), "--format", "json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={"OMP_NUM_THREADS": "1",
                            **{k: v for k, v in __import__("os").environ.items() if k != "OMP_NUM_THREADS"}})


def stored(store) -> dict[str, tuple]:
    """``{cell id: (rowid, finished_at)}``: a cell stored again would get a new rowid."""
    if not store.exists():
        return {}
    with closing(sqlite3.connect(store, timeout=30)) as conn:
        try:
            return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, rowid, finished_at FROM cells")}
        except sqlite3.OperationalError:
            return {}


def ran(stderr: str) -> list[str]:
    """The cells a runner finished, from its one-line-per-cell log (stderr is not a terminal)."""
    return re.findall(r"^\[\d+/\d+\] (.*) \(\d", stderr, re.M)


@pytest.mark.parametrize("runners", [2, 3])
def test_concurrent_runners_share_the_work_without_repeating_a_cell(tmp_path, runners):
    path = manifest(tmp_path, cells=9, epochs=40)
    procs = [start(path) for _ in range(runners)]
    logs = [proc.communicate(timeout=600)[1] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), logs
    done = [ran(log) for log in logs]
    counts = [int(re.search(r"(\d+) cells run", log).group(1)) for log in logs]
    everything = [cell for cells in done for cell in cells]
    assert counts == [len(cells) for cells in done] and sum(counts) == 9, (counts, logs)
    assert len(set(everything)) == 9  # no cell run twice, none left out
    assert len(stored(tmp_path / "r.sqlite")) == 9
    with closing(sqlite3.connect(tmp_path / "r.sqlite")) as conn:
        assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0
    print(f"{runners} runners: cells each {counts}")


def test_sigkill_at_random_moments_then_resume_loses_and_repeats_nothing(tmp_path):
    """Several runs of a small manifest killed with SIGKILL at random times (some two runners at once), then a resume."""
    path = manifest(tmp_path, cells=CAMPAIGN_CELLS, epochs=150)
    store = tmp_path / "r.sqlite"
    rng = random.Random(12)
    kills, seen = 0, {}
    for round_ in range(5):
        procs = [start(path) for _ in range(1 + round_ % 2)]  # odd rounds: two runners share the store
        deadline = time.monotonic() + 120
        while len(stored(store)) <= len(seen) and time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.05)  # past start-up: at least one more cell is in the store
        time.sleep(rng.uniform(0.0, 1.0))  # then a random moment: mid-cell, mid-commit, between cells
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate()
        now = stored(store)
        for cell, row in seen.items():
            assert now.get(cell) == row, f"round {round_}: stored cell {cell} lost or stored again"
        seen = now
    final = start(path)
    log = final.communicate(timeout=600)[1]
    assert final.returncode == 0, log
    now = stored(store)
    assert len(now) == CAMPAIGN_CELLS and all(now[cell] == row for cell, row in seen.items())
    assert f"{CAMPAIGN_CELLS - len(seen)} cells run, {len(seen)} already in" in log
    assert len(seen) > 0
    assert kills >= 3
    print(f"{kills} kills, {len(seen)} cells stored before the resume, 0 lost, 0 repeated")
