"""Checkpoints: a cell killed mid-run resumes from its checkpoint to the uninterrupted cell's result."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import run_zoo
from zoo.cli import main
from zoo.checkpoints import DamagedCheckpoint, decode, encode

BENCHES = {
    "gc": """task = { name = "mnist", classes = "pair", source = "folder" }
model = { name = "lenet", width = 0.5 }
optimizers = [ { name = "guess_check", target = 200, max_guesses = 3000000 } ]  # seconds, even on idle cores
matrix = { n = [16], bins = [0.60, 0.65], seeds = [1] }""",
    "ps": """task = { name = "kink" }
model = { name = "mlp", hidden = 20 }
optimizers = [ { name = "pattern_search", max_steps = 3000, target = 4, max_runs = 6, population = 8, check_every = 1 } ]
matrix = { n = [32], seeds = [0] }""",
    "sgd": """task = { name = "kink" }
model = { name = "mlp", hidden = 8 }
optimizers = [
  { name = "sgd", lr = 0.05, epochs = 150, init = "default", population = 8, target = 160, max_models = 192, momentum = 0.9 },
]
matrix = { n = [16], seeds = [0] }""",
    "ss": """task = { name = "poison_toy", test = 5, margin = 0.1, spacing = 0.3 }
model = { name = "mlp", hidden = 20 }
optimizers = [ { name = "poisoned_volume_ss", poison = 4, particles = 200, moves = 10, sample_moves = 10, target = 8 } ]
matrix = { n = [11], seeds = [0] }""",
}
MANIFEST = "[suite]\nkeep_params = true\n" + "".join(f'[[bench]]\nname = "{name}"\n{text}\n' for name, text in BENCHES.items())
TIMES = ("seconds",)  # counters that measure time, not progress


def table(path, sql, args=()):
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def results(store) -> dict:
    """Per bench: what a cell found (models, counters without times, the anytime curve's costs) and its parameters."""
    out = {}
    for bench, metrics, cell_id in table(store, "SELECT bench, metrics, id FROM cells"):
        metrics = json.loads(metrics)
        blobs = table(store, "SELECT data FROM params WHERE cell_id = ?", (cell_id,))
        counters = {k: v for k, v in metrics["counters"].items() if k not in TIMES}
        out[bench] = (metrics["test_acc_values"], metrics["train_loss_values"], counters,
                      metrics.get("trajectory", {}).get("evals"), blobs, metrics.get("diagnostics"))
    return out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("whole")
    (folder / "m.toml").write_text(MANIFEST)
    done = run_zoo("bench", folder / "m.toml", "--store", folder / "r.sqlite", "--data-root", shared_data,
                   "--checkpoint-seconds", "0")
    assert done.returncode == 0, done.stderr
    assert table(folder / "r.sqlite", "SELECT count(*) FROM checkpoints WHERE final = 0") == [(0,)]
    return results(folder / "r.sqlite")


@pytest.mark.parametrize("bench", list(BENCHES))
def test_a_cell_killed_mid_run_resumes_to_the_uninterrupted_result(bench, uninterrupted, tmp_path, shared_data):
    manifest, store = tmp_path / "m.toml", tmp_path / "r.sqlite"
    manifest.write_text(MANIFEST)
    command = [sys.executable, "-m", "zoo.cli", "bench", str(manifest), "--only", bench, "--store", str(store),
               "--data-root", str(shared_data), "--checkpoint-seconds", "0.2"]
    proc = start_until_checkpointed(command, store, 120)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert table(store, "SELECT count(*) FROM cells") == [(0,)]  # killed mid-cell: only its checkpoint is stored

    done = run_zoo("bench", manifest, "--only", bench, "--store", store, "--data-root", shared_data,
                   "--checkpoint-seconds", "0.2")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert results(store)[bench] == uninterrupted[bench]
    (metrics,) = [json.loads(m) for (m,) in table(store, "SELECT metrics FROM cells")]
    assert metrics["resumed"]["seconds_before"] > 0  # it did continue from the checkpoint
    # one final row; the in-flight checkpoint was replaced by the final state in the same commit (volume_ss has no
    # budget that could grow, so it keeps no final state: its in-flight checkpoint is dropped)
    expected = [(0, None)] if bench == "ss" else [(1, 1)]
    assert table(store, "SELECT count(*), sum(final) FROM checkpoints") == expected


def test_cells_on_ray_workers_checkpoint_through_the_driver_and_resume(uninterrupted, tmp_path, shared_data):
    """A worker posts its checkpoints to the driver, which alone writes them; the next run ships them back."""
    store, command = ray_bench(tmp_path, shared_data)
    proc = start_until_checkpointed(command, store, 180)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130, proc.communicate()[1]
    assert table(store, "SELECT count(*) FROM cells") == [(0,)]

    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert_resumed_to(uninterrupted, store)


def test_a_ray_cell_whose_worker_dies_reruns_from_its_newest_checkpoint(uninterrupted, tmp_path, shared_data):
    """The rerun ships the checkpoint the dead worker posted last, not the progress its first attempt started from."""
    store, command = ray_bench(tmp_path, shared_data)
    proc = start_until_checkpointed(command, store, 180)
    (worker,) = descendants(proc.pid, "ray::_call")
    os.kill(worker, signal.SIGKILL)
    assert proc.wait(timeout=300) == 0, proc.communicate()[1]
    assert_resumed_to(uninterrupted, store)


def ray_bench(tmp_path, shared_data) -> tuple:
    """The store and the command of a run of the Guess & Check bench on Ray workers."""
    manifest, store = tmp_path / "m.toml", tmp_path / "r.sqlite"
    manifest.write_text(MANIFEST)
    return store, [sys.executable, "-m", "zoo.cli", "bench", str(manifest), "--only", "gc", "--store", str(store),
                   "--data-root", str(shared_data), "--checkpoint-seconds", "0.2", "--executor", "ray"]


def assert_resumed_to(uninterrupted, store) -> None:
    """The cell continued from a checkpoint to the uninterrupted result and keeps one final checkpoint row."""
    assert results(store)["gc"] == uninterrupted["gc"]
    (metrics,) = [json.loads(m) for (m,) in table(store, "SELECT metrics FROM cells")]
    assert metrics["resumed"]["seconds_before"] > 0
    assert table(store, "SELECT count(*), sum(final) FROM checkpoints") == [(1, 1)]


def descendants(root: int, title: str) -> list[int]:
    """Processes below ``root`` whose command is ``title`` (Ray names a busy worker ``ray::<function>``)."""
    parents, titles = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parents[int(pid)] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            titles[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue

    def below(pid):
        while pid in parents and pid != root:
            pid = parents[pid]
        return pid == root

    return [pid for pid, name in titles.items() if name == title and pid != root and below(pid)]


def start_until_checkpointed(command, store, seconds) -> subprocess.Popen:
    """Start ``zoo bench`` and return once its cell has stored an in-flight checkpoint."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    while not (store.exists() and _in_flight(store)):
        assert proc.poll() is None, f"the cell ended before its first checkpoint: {proc.communicate()[1]}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def _in_flight(store) -> bool:
    try:
        return bool(table(store, "SELECT count(*) FROM checkpoints WHERE final = 0")[0][0])
    except sqlite3.OperationalError:  # the store is being created
        return False


def test_a_damaged_checkpoint_is_ignored_with_a_warning(tmp_path, mnist_root, capsys):
    manifest, store = tmp_path / "m.toml", tmp_path / "r.sqlite"
    manifest.write_text(MANIFEST.replace("epochs = 150", "epochs = 5"))
    command = ["bench", str(manifest), "--only", "sgd", "--store", str(store), "--data-root", str(mnist_root)]
    assert main(command) == 0
    expected = results(store)["sgd"]
    (experiment,) = table(store, "SELECT experiment FROM checkpoints")[0]
    header = json.dumps({"format": 1, "state": {"optimizer": {"$tensor": 0}}, "tensors": [
        {"dtype": "float32", "shape": [1000], "offset": 0, "nbytes": 4000}]})
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE checkpoints SET final = 0, header = ?, data = ?", (header, b"\x00" * 16))
        conn.execute("DELETE FROM cells")
    capsys.readouterr()
    assert main(command) == 0
    err = capsys.readouterr().err
    assert "ignoring a damaged checkpoint" in err and "Traceback" not in err
    assert results(store)["sgd"] == expected
    assert [row[0] for row in table(store, "SELECT experiment FROM checkpoints")] == [experiment]


@pytest.mark.parametrize("damage", [
    lambda h, d: (h, d[:-1]),  # bytes missing
    lambda h, d: (h.replace('"float32"', '"object"'), d),  # a dtype a checkpoint never holds
    lambda h, d: (h.replace('"format": 1', '"format": 7'), d),
    lambda h, d: (h[:-3], d),  # truncated JSON
    lambda h, d: (h.replace('{"$tensor": 0}', '{"$tensor": 9}'), d),
    lambda h, d: (json.dumps({"format": 1, "state": {}, "tensors": [{"dtype": "uint8", "shape": [-1], "offset": 0,
                                                                       "nbytes": 0}]}), d),
])
def test_decode_refuses_what_encode_did_not_write(damage):
    state = {"theta": torch.randn(3, 5), "gen": torch.Generator().manual_seed(1).get_state(), "steps": 7,
             "nested": [{"x": torch.arange(4)}, None, 1.5, float("inf")], "name": "[red]not markup[/]"}
    header, data = encode(state)
    back = decode(header, data)
    assert torch.equal(back["theta"], state["theta"]) and torch.equal(back["gen"], state["gen"])
    assert back["nested"][0]["x"].tolist() == [0, 1, 2, 3] and back["nested"][1:] == [None, 1.5, float("inf")]
    assert (back["steps"], back["name"]) == (7, "[red]not markup[/]")
    with pytest.raises(DamagedCheckpoint):
        decode(*damage(header, data))
