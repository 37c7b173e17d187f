"""Killing a run mid-cell loses no finished cell and duplicates none."""

import signal
import sqlite3
import subprocess
import sys
import time

# Enough cells that the run is still going when the interrupt lands, however fast a single cell is.
SEEDS = 40
MANIFEST = """
[suite]
store = "r.sqlite"
device = "cpu"
[[bench]]
name = "slow"
task = { name = "kink" }
model = { name = "mlp", hidden = 8 }
optimizers = [ { name = "sgd", lr = 0.05, epochs = 150, init = "default", population = 8, target = 8, max_models = 8 } ]
[bench.matrix]
n = [16]
""" + f"seeds = {list(range(SEEDS))}\n"


def rows(path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:  # created but the schema is not there yet
        return 0


def start(manifest):
    # Ctrl-C as a terminal delivers it: a test run started in the background of a script inherits SIGINT ignored,
    # and a bench started that way rightly keeps ignoring it.
    return subprocess.Popen([sys.executable, "-m", "zoo.cli", "bench", str(manifest)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_rows(proc, store, more_than, timeout=300):
    deadline = time.monotonic() + timeout
    while rows(store) <= more_than:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_sigint_and_sigkill_mid_run_then_resume(tmp_path):
    manifest, store = tmp_path / "m.toml", tmp_path / "r.sqlite"
    manifest.write_text(MANIFEST)

    proc = start(manifest)
    wait_for_rows(proc, store, 0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    after_int = rows(store)
    assert 1 <= after_int < SEEDS

    proc = start(manifest)
    wait_for_rows(proc, store, after_int)
    proc.kill()
    proc.communicate()
    after_kill = rows(store)
    assert after_int < after_kill < SEEDS

    done = subprocess.run([sys.executable, "-m", "zoo.cli", "bench", str(manifest)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{SEEDS - after_kill} cells run, {after_kill} already in" in done.stderr
    with sqlite3.connect(store) as conn:
        seeds = [r[0] for r in conn.execute("SELECT seed FROM cells ORDER BY seed")]
    assert seeds == list(range(SEEDS))
