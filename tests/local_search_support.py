"""Running pattern search and random greedy search through the registry, recording every round."""

from __future__ import annotations

from typing import NamedTuple

import torch

from zoo.optimizer import Context
from zoo.registry import default_registry


class Run(NamedTuple):
    outcome: object
    records: list  # the progress counters of every round
    model: object
    problem: object


def run_recorded(optimizer: str, task: dict, model: dict, n: int, seed: int = 0, loss_bin=None, **params) -> Run:
    """Run ``optimizer`` on a real task (data seed 0), recording every round's progress."""
    registry = default_registry()
    task_spec = registry.get("task", task["name"])
    problem = task_spec.build(**task_spec.resolve({k: v for k, v in task.items() if k != "name"})).sample(n, 0)
    model_spec = registry.get("model", model["name"])
    net = model_spec.build(input_shape=problem.input_shape, num_classes=problem.num_classes,
                           **model_spec.resolve({k: v for k, v in model.items() if k != "name"}))
    spec = registry.get("optimizer", optimizer)
    records = []
    ctx = Context(seed=seed, loss_bin=loss_bin, keep_params=True, progress=lambda **c: records.append(c))
    return Run(spec.build(**spec.resolve(params)).run(problem, net, ctx), records, net, problem)


def assert_monotone(records) -> None:
    """The objective never rises; it falls strictly exactly when a step is taken."""
    for before, after in zip(records, records[1:]):
        if after["steps"] > before["steps"]:
            assert after["steps"] == before["steps"] + 1 and after["loss"] < before["loss"]
        else:
            assert after["loss"] == before["loss"]


def assert_reproducible(optimizer: str, **params) -> None:
    """Seed 0 twice gives the same search, round for round to the bit; seed 1 another one (ten steps on 16 MNIST samples).

    Ten steps do not fit the samples, so no point is reported; the rounds' progress records are the search.
    """
    first, again, other = (run_recorded(optimizer, MNIST_PAIR, LENET, n=16, seed=seed, max_steps=10, **params)
                           for seed in (0, 0, 1))
    assert first.records == [dict(r, rate=f["rate"]) for r, f in zip(again.records, first.records)]
    assert [r["loss"] for r in first.records] != [r["loss"] for r in other.records]
    assert {k: v for k, v in first.outcome.counters.items() if k != "seconds"} == {k: v for k, v in again.outcome.counters.items() if k != "seconds"}


MNIST_PAIR = {"name": "mnist", "classes": "pair"}
LENET = {"name": "lenet", "width": 0.5}
KINK = {"name": "kink"}
TINY_MLP = {"name": "mlp", "hidden": 2}
NEVER = (0.0, 1e-6)  # a loss bin no tiny network reaches: the search runs until its caps
