"""asv benchmarks of one cell, for plugins: say what to run, inherit how to time it.

A plugin's ``benchmarks.py`` subclasses :class:`CellBenchmark` and sets
the task, model and optimizer as a manifest would write them; the
benchmark builds them through the registry (installed plugins included)
with the same parameter checks as ``zoo bench``, so it needs no zoo
internals::

    from zoo.api import CellBenchmark

    class CMAOnKink(CellBenchmark):
        task = {"name": "kink"}
        model = {"name": "mlp", "hidden": 8}
        optimizer = {"name": "ng_cma", "budget": 500, "target": 1}
        n = 8
        params = ([0, 1],)
        param_names = ["seed"]  # any of n, seed, bin, or a manifest axis like "optimizer.budget"

asv then times ``time_cell`` (one whole cell: the optimizer's ``run``) and
records ``track_evaluations_per_second`` (candidate models evaluated on the
training set per second: the optimizer's ``forward_evals`` counter, else
``tested``) and ``track_accepted`` (the cell's accepted models).
"""

from __future__ import annotations

import time

import torch

from zoo.optimizer import Context
from zoo.registry import Registry, default_registry

AXIS_KINDS = ("task", "model", "optimizer")


class CellBenchmark:
    """One cell as an asv benchmark; subclasses set the class attributes below."""

    task: dict = {"name": "kink"}
    model: dict = {"name": "mlp"}
    optimizer: dict = {"name": "guess_check"}
    n: int = 8
    seed: int = 0
    bin: tuple[float, float] | None = None  # the cell's loss bin (lo, hi]; None: accuracy only
    device: str = "cpu"
    timeout = 300
    registry: Registry | None = None  # None: built-ins and installed plugins

    def setup(self, *params):
        settings = self.settings(*params)
        registry = self.registry or default_registry()
        task_spec = registry.get("task", settings["task"]["name"])
        task = task_spec.build(**task_spec.resolve(_params(settings["task"])))
        device = torch.device(self.device)
        self.problem = task.sample(settings["n"], settings["seed"]).to(device)
        model_spec = registry.get("model", settings["model"]["name"])
        self.population = model_spec.build(input_shape=self.problem.input_shape, num_classes=self.problem.num_classes,
                                           **model_spec.resolve(_params(settings["model"])))
        optimizer_spec = registry.get("optimizer", settings["optimizer"]["name"])
        self.search = optimizer_spec.build(**optimizer_spec.resolve(_params(settings["optimizer"])))
        loss_bin = tuple(settings["bin"]) if settings["bin"] else None
        self.context = lambda: Context(seed=settings["seed"], device=device, loss_bin=loss_bin)

    def settings(self, *params) -> dict:
        """The class attributes with asv's ``params`` applied by ``param_names``."""
        out = {"task": dict(self.task), "model": dict(self.model), "optimizer": dict(self.optimizer),
               "n": self.n, "seed": self.seed, "bin": self.bin}
        for name, value in zip(getattr(self, "param_names", ()), params):
            kind, _, key = name.partition(".")
            if kind in AXIS_KINDS and key:
                out[kind][key] = value
            elif name in ("n", "seed", "bin"):
                out[name] = value
            else:
                raise ValueError(f"param_names: {name!r} is neither n, seed, bin nor task./model./optimizer.KEY")
        return out

    def run_cell(self):
        """One run of the optimizer on the problem, as the runner does it; returns the Outcome."""
        return self.search.run(self.problem, self.population, self.context())

    def time_cell(self, *params):
        self.run_cell()

    def track_evaluations_per_second(self, *params) -> float:
        start = time.perf_counter()
        counters = self.run_cell().counters
        seconds = time.perf_counter() - start
        return counters.get("forward_evals", counters.get("tested", 0)) / seconds

    track_evaluations_per_second.unit = "models/s"

    def track_accepted(self, *params) -> float:
        return float(self.run_cell().counters.get("accepted", 0))

    track_accepted.unit = "models"


def _params(component: dict) -> dict:
    return {key: value for key, value in component.items() if key not in ("name", "label")}
