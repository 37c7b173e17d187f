"""A cell's wall time on idle cores and beside busy-looping processes.

Researchers run on shared nodes. A cell that gets a third of the cores it
had should take about three times as long, not a hundred: this module runs
the same cell of the default suite alternately as it is and beside ``busy``
processes that spin on a core each, and reports the ratio of the two times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from zoo.cells import Cell, Component
from zoo.registry import Registry
from zoo.runner import run_cell

# The default suite's (benchmarks.toml) two-class MNIST cells at n = 2, bin (0.50, 0.55], seed 0.
DEFAULT_SUITE_OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.001, "epochs": 30, "init": "uniform", "target": 10, "max_models": 256}),
    "guess_check": ("G&C", {"target": 10, "max_guesses": 1_000_000}),
}


def default_suite_cell(optimizer: str, registry: Registry) -> Cell:
    """The default suite's cell of ``optimizer`` (``sgd`` or ``guess_check``), parameters resolved as a manifest does."""
    label, params = DEFAULT_SUITE_OPTIMIZERS[optimizer]

    def component(kind, name, given, label=""):
        spec = registry.get(kind, name)
        return Component(name, spec.resolve(given), label, spec.outside_streams)

    return Cell(suite="default", bench="mnist-2class", report="bins",
                task=component("task", "mnist", {"classes": "pair"}),
                model=component("model", "lenet", {"width": 0.5}),
                optimizer=component("optimizer", optimizer, params, label),
                n=2, loss_bin=(0.50, 0.55), seed=0)


# Spins while the process that started it lives: a measurement killed without running its cleanup (SIGTERM,
# SIGKILL) leaves no loop holding a core of a shared machine. The parent's pid comes as an argument, not from
# getppid() at start-up, so a loop whose parent dies while Python is still starting ends at once.
SPIN = "import os, sys\nparent = int(sys.argv[1])\nwhile os.getppid() == parent: pass"


@contextmanager
def busy_loops(count: int):
    """``count`` processes that each spin on one core until the block ends (or this process dies)."""
    loops = [subprocess.Popen([sys.executable, "-c", SPIN, str(os.getpid())]) for _ in range(count)]
    try:
        time.sleep(0.2)  # let them start spinning before anything is timed
        yield
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()


@dataclass(frozen=True)
class Contention:
    idle: list[float]  # seconds of each idle run
    loaded: list[float]  # seconds of each run beside the busy loops

    @property
    def ratio(self) -> float:
        """Best loaded time over best idle time: the best run is the one least disturbed by other jobs."""
        return min(self.loaded) / min(self.idle)


def fair_share_ratio(threads: int, cores: int, busy: int) -> float:
    """Loaded over idle time of a perfectly parallel cell whose threads get their share of the cores, and no less."""
    idle_cores = min(threads, cores)
    loaded_cores = min(idle_cores, cores * threads / (threads + busy))
    return idle_cores / loaded_cores


def cell_seconds(cell: Cell, registry: Registry) -> float:
    began = time.perf_counter()
    run_cell(cell, registry, torch.device("cpu"))
    return time.perf_counter() - began


def contention(cell: Cell, registry: Registry, busy: int = 2, rounds: int = 1) -> Contention:
    """Run ``cell`` once to warm up, then ``rounds`` times idle and beside ``busy`` loops, alternating."""
    cell_seconds(cell, registry)
    idle, loaded = [], []
    for _ in range(rounds):
        idle.append(cell_seconds(cell, registry))
        with busy_loops(busy):
            loaded.append(cell_seconds(cell, registry))
    return Contention(idle, loaded)
