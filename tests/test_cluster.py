"""Shards and cells on a two-node Ray cluster on this machine: the same results, even when a worker is killed."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from rich.console import Console

from test_shards import CELLS, cell, run_cell  # noqa: F401  (cell: the fixture)
from zoo import manifest as manifests
from zoo import runner
from zoo.cluster import local_cluster
from zoo.executors import RayExecutor
from zoo.registry import default_registry
from zoo.store import Store

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """A head and a second node, one CPU each; this process is the driver."""
    with local_cluster(2, cpus=1) as nodes:
        yield nodes


def raylets(nodes: Cluster) -> set[int]:
    """The process ids of this cluster's raylets: its workers are their children (other Ray jobs may share the machine)."""
    return {node.all_processes["raylet"][0].process.pid for node in (nodes.head_node, *nodes.worker_nodes)}


def running(title: str, parents: set[int]) -> list[int]:
    """Workers of ``parents`` now running ``title`` (Ray names a busy worker ``ray::<function>``)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent in parents and command.split(b"\0")[0] == title.encode():
            found.append(int(pid))
    return found


def kill_once(nodes: Cluster, title: str, after: float, timeout: float = 60.0) -> dict:
    """A thread that SIGKILLs a worker of ``nodes`` still running ``title`` ``after`` seconds after it was first seen."""
    killed, parents = {}, raylets(nodes)

    def hunt():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in running(title, parents):
                time.sleep(after)  # let it get into its work
                if pid in running(title, parents):
                    os.kill(pid, signal.SIGKILL)
                    killed["pid"] = pid
                    return
            time.sleep(0.01)

    killed["thread"] = threading.Thread(target=hunt, daemon=True)
    killed["thread"].start()
    return killed


@pytest.mark.parametrize("which", ["guess_check", "poisoned_guess_check"])
def test_shards_on_two_nodes_equal_the_unsharded_cell(cluster, cell, which):
    problem, model = cell
    expected, theta = run_cell(problem, model, which, **CELLS[which])
    for shards in (2, 3):
        got, got_theta = run_cell(problem, model, which, **CELLS[which], shards=shards, shard_size=256, shard_on="ray")
        assert got == expected and torch.equal(got_theta, theta), shards
    nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(nodes) == 2


def test_a_worker_killed_mid_range_changes_nothing(cluster, cell):
    problem, model = cell
    params = dict(target=50, max_guesses=80_000, batch=32)  # unfilled: every range counts
    expected, theta = run_cell(problem, model, "guess_check", **params)
    killer = kill_once(cluster, "ray::_judge_range", after=0.05)
    got, got_theta = run_cell(problem, model, "guess_check", **params, shards=2, shard_size=20_000, shard_on="ray")
    killer["thread"].join()
    assert "pid" in killer, "no range was running to be killed"
    assert got == expected and torch.equal(got_theta, theta)


MANIFEST = """
[suite]
name = "cluster"
device = "cpu"
data_root = "{data}"

[[bench]]
name = "mnist"
task = {{ name = "mnist", classes = "pair", source = "folder" }}
model = {{ name = "lenet", width = 0.5 }}
optimizers = [ {{ name = "guess_check", label = "G&C", target = 4, max_guesses = 60000, batch = 64{shards} }} ]
matrix = {{ n = [4], bins = [0.45, 0.5], seeds = [0, 1] }}
"""


def stored(tmp_path: Path, name: str, executor, shards: str = "") -> dict:
    path = tmp_path / f"{name}.toml"
    path.write_text(MANIFEST.format(data=Path(__file__).resolve().parents[2] / "shared" / "data", shards=shards))
    registry = default_registry()
    manifest = manifests.load(path, registry, store=str(tmp_path / f"{name}.sqlite"))
    store = Store(manifest.store)
    try:
        summary = runner.run(manifest, registry, store, executor=executor, console=Console(file=io.StringIO()))
        assert summary["failed"] == 0 and summary["done"] == len(manifest.cells)
        drop = ("wall_time", "throughput", "trajectory")
        seeds = {cell.id: cell.rng_seed for cell in manifest.cells}  # the same for a cell with and without shards
        return {seeds[r["id"]]: {k: v for k, v in r["metrics"].items() if k not in drop} for r in store.records()}
    finally:
        store.close()


def test_a_cell_whose_worker_is_killed_runs_again_and_is_stored_once(cluster, tmp_path, shared_data):
    """Cells on the cluster, each sharding its stream over the cluster too; one cell's worker is killed."""
    expected = stored(tmp_path, "local", None)
    killer = kill_once(cluster, "ray::_call", after=0.3)
    got = stored(tmp_path, "ray", RayExecutor(retries=2), shards=', shards = 2, shard_size = 1024, shard_on = "ray"')
    killer["thread"].join()
    assert "pid" in killer, "no cell was running to be killed"
    assert got == expected


def test_a_node_lost_mid_range_changes_nothing(cluster, cell):
    problem, model = cell
    params = dict(target=50, max_guesses=80_000, batch=32)
    expected, theta = run_cell(problem, model, "guess_check", **params)
    node = next(iter(cluster.worker_nodes))  # the second node (the head runs the cluster)
    raylet = {node.all_processes["raylet"][0].process.pid}
    lost = {}

    def remove_when_busy():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if running("ray::_judge_range", raylet):
                time.sleep(0.05)
                cluster.remove_node(node, allow_graceful=False)
                lost["node"] = True
                return
            time.sleep(0.01)

    thread = threading.Thread(target=remove_when_busy, daemon=True)
    thread.start()
    try:
        got, got_theta = run_cell(problem, model, "guess_check", **params, shards=2, shard_size=20_000, shard_on="ray")
        thread.join()
        assert lost, "the second node never ran a range"
        assert got == expected and torch.equal(got_theta, theta)
    finally:
        if lost:
            cluster.add_node(num_cpus=1)  # as the other tests found it
            cluster.wait_for_nodes()
