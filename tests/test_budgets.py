"""Budgets that grow: raising a budget or target continues the same experiment, it does not start another."""

from __future__ import annotations

import torch

from zoo.api import run_manifest
from zoo.store import Store

MANIFEST = """
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


def run(tmp_path, mnist_root, target, max_guesses):
    result = run_manifest(MANIFEST.format(target=target, max_guesses=max_guesses), directory=tmp_path,
                          data_root=mnist_root)
    (record,) = result.records
    store = Store(result.store, create=False)
    try:
        return record, store.params(record["id"])
    finally:
        store.close()


def test_raising_target_and_max_guesses_continues_the_same_stream(tmp_path, mnist_root):
    small, small_theta = run(tmp_path / "small", mnist_root, target=3, max_guesses=4_000)
    large, large_theta = run(tmp_path / "large", mnist_root, target=6, max_guesses=400_000)
    assert small["id"] != large["id"]  # another cell...
    assert small["metrics"]["counters"]["accepted"] == 3 and large["metrics"]["counters"]["accepted"] == 6
    assert torch.equal(large_theta[:3], small_theta)  # ...of the same experiment: its first models are the same
    assert large["metrics"]["test_acc_values"][:3] == small["metrics"]["test_acc_values"]


def test_a_budget_never_reached_does_not_change_the_result(tmp_path, mnist_root):
    low, low_theta = run(tmp_path / "low", mnist_root, target=4, max_guesses=20_000)
    high, high_theta = run(tmp_path / "high", mnist_root, target=4, max_guesses=2_000_000)
    assert low["metrics"]["counters"] == high["metrics"]["counters"]
    assert torch.equal(low_theta, high_theta)
