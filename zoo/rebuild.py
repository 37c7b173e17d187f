"""Rebuild a stored cell's problem and models from its record.

A record (:meth:`zoo.store.Store.records`) carries the cell's fully resolved
task, model and optimizer parameters, its n and data seed; with the stored
parameters (``keep_params = true``) that is enough to look at the models
again: decision boundaries, rule probes, anything that needs the weights.
"""

from __future__ import annotations

import torch

from zoo.population import PopulationModel
from zoo.registry import Registry, default_registry
from zoo.task import Problem


def problem_of(record: dict, registry: Registry | None = None) -> Problem:
    """The training and test data the cell ran on."""
    registry = registry or default_registry()
    task = record["spec"]["task"]
    return registry.get("task", task["name"]).build(**task["params"]).sample(record["n"], record["seed"])


def model_of(record: dict, problem: Problem, registry: Registry | None = None) -> PopulationModel:
    registry = registry or default_registry()
    model = record["spec"]["model"]
    return registry.get("model", model["name"]).build(
        input_shape=problem.input_shape, num_classes=problem.num_classes, **model["params"]
    )


def stored_models(store, record: dict, registry: Registry | None = None) -> tuple[Problem, PopulationModel, torch.Tensor] | None:
    """The cell's problem, model and reported parameters ``[K, P]``; None when none were kept."""
    theta = store.params(record["id"])
    if theta is None or len(theta) == 0:
        return None
    problem = problem_of(record, registry)
    return problem, model_of(record, problem, registry), theta.float()
