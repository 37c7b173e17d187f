"""Budgets that grow: raising a budget or target continues the same experiment, from its stored progress."""

from __future__ import annotations

import torch

from zoo.api import run_manifest
from zoo.store import Store

GUESS_CHECK = """
[suite]
keep_params = true
[[bench]]
name = "grow"
task = {{ name = "mnist", classes = "pair", source = "folder" }}
model = {{ name = "lenet", width = 0.5 }}
optimizers = [ {{ name = "guess_check", label = "G&C", target = {target}, max_guesses = {max_guesses} }} ]
[bench.matrix]
n = [2]
seeds = [1]
"""
SGD = """
[suite]
keep_params = true
[[bench]]
name = "grow"
task = {{ name = "kink" }}
model = {{ name = "mlp", hidden = 8 }}
optimizers = [ {{ name = "sgd", lr = 0.05, epochs = 40, init = "default", population = 4, target = {target}, max_models = {max_guesses} }} ]
[bench.matrix]
n = [16]
seeds = [0]
"""


def run(folder, mnist_root, target, max_guesses, manifest=GUESS_CHECK):
    result = run_manifest(manifest.format(target=target, max_guesses=max_guesses), directory=folder, data_root=mnist_root)
    (record,) = result.records
    store = Store(result.store, create=False)
    try:
        return record, store.params(record["id"])
    finally:
        store.close()


def same_run(a, b) -> bool:
    """The same models and counters (times aside)."""
    counters = [{k: v for k, v in r["metrics"]["counters"].items() if k != "seconds"} for r in (a, b)]
    return counters[0] == counters[1] and a["metrics"]["test_acc_values"] == b["metrics"]["test_acc_values"]


def test_raising_target_and_max_guesses_continues_the_same_stream_from_the_stored_progress(tmp_path, mnist_root):
    small, small_theta = run(tmp_path / "grown", mnist_root, target=3, max_guesses=4_000)
    fresh, fresh_theta = run(tmp_path / "fresh", mnist_root, target=6, max_guesses=400_000)
    assert small["id"] != fresh["id"]  # another cell...
    assert small["metrics"]["counters"]["accepted"] == 3 and fresh["metrics"]["counters"]["accepted"] == 6
    assert torch.equal(fresh_theta[:3], small_theta)  # ...of the same experiment: its first models are the same
    assert fresh["metrics"]["test_acc_values"][:3] == small["metrics"]["test_acc_values"]

    grown, grown_theta = run(tmp_path / "grown", mnist_root, target=6, max_guesses=400_000)  # beside the small cell
    assert grown["metrics"]["resumed"]["from"] == small["id"]  # it walked on from where the small cell stopped
    assert same_run(grown, fresh) and torch.equal(grown_theta, fresh_theta)
    shrunk, shrunk_theta = run(tmp_path / "grown", mnist_root, target=2, max_guesses=400_000)  # a prefix of what is known
    assert torch.equal(shrunk_theta, fresh_theta[:2]) and shrunk["metrics"]["counters"]["tested"] < small["metrics"]["counters"]["tested"]


def test_a_budget_never_reached_does_not_change_the_result(tmp_path, mnist_root):
    low, low_theta = run(tmp_path / "low", mnist_root, target=4, max_guesses=20_000)
    high, high_theta = run(tmp_path / "high", mnist_root, target=4, max_guesses=2_000_000)
    assert low["metrics"]["counters"] == high["metrics"]["counters"]
    assert torch.equal(low_theta, high_theta)


def test_sgd_with_a_larger_target_continues_from_the_smaller_cell(tmp_path):
    small, _ = run(tmp_path / "grown", None, target=3, max_guesses=64, manifest=SGD)
    grown, grown_theta = run(tmp_path / "grown", None, target=9, max_guesses=64, manifest=SGD)
    fresh, fresh_theta = run(tmp_path / "fresh", None, target=9, max_guesses=64, manifest=SGD)
    assert small["metrics"]["counters"]["accepted"] == 3 and fresh["metrics"]["counters"]["accepted"] == 9
    assert grown["metrics"]["resumed"]["from"] == small["id"]
    assert same_run(grown, fresh) and torch.equal(grown_theta, fresh_theta)
