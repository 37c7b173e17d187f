"""Executors decide where cells run. The runner only sees ``map``.

``map(cells, work, started)`` calls ``started(cell)`` when a cell begins and
yields ``(cell, result)`` for every cell as it finishes, where ``result`` is
what ``work(cell)`` returned or the exception it raised. The runner commits
each result to the store as it arrives, so finished cells survive any
interruption, wherever they ran.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator


class LocalExecutor:
    """Runs cells one after another in this process (each cell uses all cores)."""

    name = "local"

    def map(self, cells: Iterable, work: Callable, started: Callable = lambda cell: None) -> Iterator[tuple]:
        for cell in cells:
            started(cell)
            try:
                yield cell, work(cell)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # reported by the runner; the run goes on
                yield cell, error


class RayExecutor:
    """Runs cells as Ray tasks, on this machine's cores or on a cluster (``address``).

    ``work`` is shipped to the workers without its live progress callback, and
    each worker builds its registry from the packages installed there, so
    every plugin a manifest names must be installed on every node. Each cell
    takes ``cpus`` cores (and one GPU when the device is CUDA). A cell whose
    worker or node dies is run again, up to ``retries`` times (Ray reruns it;
    a cell that raises is not rerun), then reported failed with the cause.
    Only this process writes the store, so a rerun cell is stored once.
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int = 1, retries: int = 3):
        from zoo import cluster

        self.ray, self.cpus, self.retries = cluster.connect(address), cpus, retries

    def map(self, cells: Iterable, work, started: Callable = lambda cell: None) -> Iterator[tuple]:
        """``work`` is a :class:`zoo.runner.CellWork`: its shippable copy goes to the workers."""
        ray = self.ray
        gpus = 1 if work.device.startswith("cuda") else 0
        remote = ray.remote(num_cpus=self.cpus, num_gpus=gpus, max_retries=self.retries)(_call)
        shipped = work.shippable()
        futures = {}
        for cell in cells:
            futures[remote.remote(shipped, cell)] = cell
            started(cell)
        pending = list(futures)
        # No cancelling on an interrupt: Ray kills a job's tasks when its driver exits, and
        # force-cancelling tasks that are finishing at that moment can crash Ray's core worker.
        while pending:
            (ref,), pending = ray.wait(pending, num_returns=1)
            try:
                yield futures[ref], ray.get(ref)
            except ray.exceptions.RayTaskError as error:  # the cell raised on its worker
                yield futures[ref], error.cause if isinstance(error.cause, Exception) else error
            except ray.exceptions.RayError as error:  # its worker or node died once more than the retries allow
                yield futures[ref], error


def _call(work, cell):
    return work(cell)


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}
