"""Sharded Guess & Check gives exactly the unsharded cell, whatever the shards, their size and their failures."""

from __future__ import annotations

import re

import time
from dataclasses import replace

import pytest
import torch

from zoo.guessing.engines import make_judge
from zoo.guessing.places import Cancelled, ThreadPlace
from zoo.guessing.search import search
from zoo.guessing.shards import ShardFailed, ShardSpec, sharded_search
from zoo.guessing.stream import ParameterStream
from zoo.metrics import cell_metrics
from zoo.models.lenet import LeNet
from zoo.optimizer import Context
from zoo.registry import default_registry
from zoo.tasks.mnist import MNIST
from zoo.trajectory import Trajectory

from conftest import REPO, run_zoo

LOSS_BIN = (0.5, 0.6)


@pytest.fixture(scope="module")
def cell(shared_data):
    from zoo import data

    data.set_data_root(shared_data)
    problem = MNIST(source="folder").sample(4, 0)
    data.set_data_root(None)
    problem = replace(problem, x_test=problem.x_test[:300], y_test=problem.y_test[:300])  # a cell's test set, cut short
    return problem, LeNet(problem.input_shape, problem.num_classes, width=0.5)


def run_cell(problem, model, name, **params):
    """The cell's stored metrics (all but its timing) and its models' parameters."""
    spec = default_registry().get("optimizer", name)
    trajectory = Trajectory(problem, model)
    ctx = Context(seed=5, loss_bin=LOSS_BIN, keep_params=True, trajectory=trajectory)
    outcome = spec.build(**spec.resolve(params)).run(problem, model, ctx)
    metrics = cell_metrics(outcome, 1.0)
    metrics["trajectory"] = {k: v for k, v in trajectory.as_dict().items() if k != "seconds"}
    return metrics, outcome.params


CELLS = {
    "guess_check": dict(target=5, max_guesses=200_000, batch=32),
    "unfilled": dict(target=50, max_guesses=1_500, batch=32),  # the budget runs out: tested is max_guesses
    "poisoned_guess_check": dict(target=3, max_guesses=400_000, batch=32, poison=2),
}


@pytest.mark.parametrize("which", CELLS)
def test_a_sharded_cell_equals_the_unsharded_cell(cell, which):
    problem, model = cell
    name = "guess_check" if which == "unfilled" else which
    expected, theta = run_cell(problem, model, name, **CELLS[which])
    assert expected["models"] >= 3 or which == "unfilled"
    for shards in (1, 2, 3):
        for size in (0, 64, 320):  # 64 and 320 guesses: the accepted guesses fall in many ranges
            got, got_theta = run_cell(problem, model, name, **CELLS[which], shards=shards, shard_size=size)
            assert got == expected, (shards, size)
            assert torch.equal(got_theta, theta), (shards, size)
    assert expected["counters"]["tested"] > 4 * 64


class FlakyPlace(ThreadPlace):
    """Threads whose ranges fail: the first ``failures`` attempts of every second range, after doing their work."""

    def __init__(self, spec, parallel, failures):
        super().__init__(spec, parallel)
        self.failures, self.attempts = failures, {}

    def _run(self, first, stop):
        result = super()._run(first, stop)
        attempt = self.attempts[first] = self.attempts.get(first, 0) + 1
        if (first // (stop - first)) % 2 and attempt <= self.failures:
            raise ConnectionResetError(f"worker lost during guesses {first}..{stop - 1}")
        return result


def spec_and_reference(problem, model, target, max_guesses):
    chunk = 32
    spec = ShardSpec(f"test-{target}-{max_guesses}", model, problem.x_train, problem.y_train, LOSS_BIN, "fast", 1.0, 5,
                     "philox", "cpu", target, chunk)
    stream = ParameterStream(model.num_params, 1.0, 5)
    expected = search(stream, make_judge("fast", model, problem.x_train, problem.y_train, LOSS_BIN), target=target,
                      max_guesses=max_guesses, chunk=chunk)
    return spec, expected


def test_ranges_that_fail_are_judged_again_to_the_same_result(cell):
    problem, model = cell
    spec, expected = spec_and_reference(problem, model, 5, 20_000)
    for parallel, failures in ((1, 1), (3, 2)):
        place = FlakyPlace(spec, parallel, failures)
        try:
            got = sharded_search(spec, place, max_guesses=20_000, size=64, parallel=parallel, retries=2)
        finally:
            place.close()
        assert got.tested == expected.tested and got.indices == expected.indices
        assert torch.equal(got.theta, expected.theta)
        assert max(place.attempts.values()) == failures + 1  # some ranges really failed and ran again


def test_a_range_that_keeps_failing_fails_the_search_with_its_cause(cell):
    problem, model = cell
    spec, _ = spec_and_reference(problem, model, 5, 20_000)
    place = FlakyPlace(spec, 2, failures=3)
    with pytest.raises(ShardFailed) as failed:
        try:
            sharded_search(spec, place, max_guesses=20_000, size=64, parallel=2, retries=2)
        finally:
            place.close()
    # Two ranges run at once, so which failing range runs out of retries first depends on timing.
    found = re.fullmatch(r"guesses (\d+)\.\.(\d+) failed 3 times \(ConnectionResetError: worker lost during guesses "
                         r"(\d+)\.\.(\d+)\)", str(failed.value))
    assert found, failed.value
    first, last = int(found.group(1)), int(found.group(2))
    assert (found.group(3), found.group(4)) == (found.group(1), found.group(2))
    assert last - first == 63 and (first // 64) % 2 == 1  # one of the ranges that always fail


class RecordingPlace(ThreadPlace):
    """Threads that note which ranges were sent, which came back and which were given up."""

    def __init__(self, spec, parallel):
        super().__init__(spec, parallel)
        self.sent, self.back, self.given_up = {}, set(), set()

    def submit(self, first, stop):
        future = super().submit(first, stop)
        self.sent[future] = first
        return future

    def wait(self, handles):
        finished = super().wait(handles)
        self.back.update(handle for handle, _ in finished)
        return finished

    def cancel(self, handles):
        self.given_up.update(handles)
        super().cancel(handles)


def test_outstanding_ranges_are_given_up_once_the_target_is_certain(cell):
    problem, model = cell
    spec, expected = spec_and_reference(problem, model, 5, 10**9)
    place, seen = RecordingPlace(spec, 3), []
    try:
        got = sharded_search(spec, place, max_guesses=10**9, size=64, parallel=3, retries=0,
                             progress=lambda **counters: seen.append(counters))
    finally:
        place.close()
    assert got.tested == expected.tested and got.indices == expected.indices
    assert place.given_up == set(place.sent) - place.back  # whatever was still out, and only that
    assert seen[-1]["accepted"] == 5 and seen[-1]["tested"] >= got.tested and seen[-1]["rate"] > 0


def test_a_cancelled_range_stops_after_its_current_chunk(cell):
    problem, model = cell
    spec, _ = spec_and_reference(problem, model, 10**9, 1)  # a target no range reaches: only cancelling stops it
    place = ThreadPlace(spec, 1)
    try:
        future = place.submit(0, 1 << 30)  # hours of guesses
        while not future.running():
            time.sleep(0.001)
        place.cancel([future])
        with pytest.raises(Cancelled):
            future.result(timeout=60)
    finally:
        place.close()


def test_bad_shard_settings_are_refused(cell):
    spec = default_registry().get("optimizer", "guess_check")
    for bad in (dict(shards=-1), dict(shard_size=-5), dict(retries=-1), dict(shard_on="mars")):
        with pytest.raises(ValueError, match="shard|retries"):
            spec.build(**spec.resolve(bad))


def test_bad_cluster_options_are_one_line_messages(tmp_path):
    for args, named in ((["speed", "--shards", "--workers", "1"], "--workers"),
                        (["bench", str(REPO / "benchmarks.toml"), "--executor", "ray", "--retries", "-1",
                          "--store", str(tmp_path / "s.sqlite")], "--retries")):
        out = run_zoo(*args)
        assert out.returncode == 2 and named in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "s.sqlite").exists()


SHARDED_MANIFEST = """
[suite]
name = "shards"
data_root = "{data}"
keep_params = true

[[bench]]
name = "mnist"
task = {{ name = "mnist", classes = "pair", source = "folder" }}
model = {{ name = "lenet", width = 0.5 }}
optimizers = [ {{ name = "guess_check", target = 4, max_guesses = 50000, batch = 32, shard_size = 96, shards = {shards} }} ]
matrix = {{ n = [4], bins = [0.5, 0.6], seeds = [3] }}
"""


def test_cells_that_differ_only_in_shards_draw_the_same_stream_and_store_the_same_results(tmp_path, shared_data):
    from zoo.api import run_manifest

    stored, seeds = {}, set()
    for shards in (0, 2, 3):  # a store each: cells of one experiment would otherwise share their progress
        run = run_manifest(SHARDED_MANIFEST.format(data=shared_data, shards=shards), directory=tmp_path / str(shards))
        assert run.summary["done"] == 1 and run.summary["failed"] == 0
        (record,) = run.records
        seeds.update(call["cell"].rng_seed for call in run.hook_calls("zoo_cell_start"))
        metrics = {k: v for k, v in record["metrics"].items() if k not in ("wall_time", "throughput")}
        metrics["trajectory"] = {k: v for k, v in metrics["trajectory"].items() if k != "seconds"}
        stored[shards] = metrics
    assert len(seeds) == 1 and stored[0]["models"] == 4 and "resumed" not in stored[3]
    assert stored[2] == stored[0] and stored[3] == stored[0]


def test_a_sharded_cell_interrupted_resumes_from_its_checkpoint_to_the_same_result(cell):
    from zoo.checkpoints import Checkpointer, Saved

    problem, model = cell
    params = dict(target=50, max_guesses=1_500, batch=32, shards=2, shard_size=64)  # unfilled: every range counts
    expected, theta = run_cell(problem, model, "guess_check", **params)
    saves, updates = [], []

    def interrupt(**counters):  # Ctrl-C after the tenth merged range
        updates.append(counters)
        if len(updates) == 10:
            raise KeyboardInterrupt

    spec = default_registry().get("optimizer", "guess_check")
    first = Checkpointer(1e-9, save=lambda header, data: saves.append((header, data)))
    ctx = Context(seed=5, loss_bin=LOSS_BIN, keep_params=True, progress=interrupt, checkpoints=first)
    with pytest.raises(KeyboardInterrupt):
        spec.build(**spec.resolve(params)).run(problem, model, ctx)
    assert len(saves) >= 9
    again = Checkpointer(1e-9, Saved(*saves[-1], cell_id="before"), save=lambda header, data: None)
    trajectory = Trajectory(problem, model)
    ctx = Context(seed=5, loss_bin=LOSS_BIN, keep_params=True, trajectory=trajectory, checkpoints=again)
    outcome = spec.build(**spec.resolve(params)).run(problem, model, ctx)
    assert again.resumed_from == "before"
    assert 0 < again.load()["optimizer"]["position"] < params["max_guesses"]  # it went on from the middle
    got = cell_metrics(outcome, 1.0)
    assert got["counters"] == expected["counters"] and got["test_acc_values"] == expected["test_acc_values"]
    assert torch.equal(outcome.params, theta)
