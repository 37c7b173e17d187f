"""Executors decide where cells run. The runner only sees ``map``.

``map(cells, work, started)`` calls ``started(cell)`` when a cell begins and
yields ``(cell, result)`` for every cell as it finishes, where ``result`` is
what ``work(cell)`` returned or the exception it raised. The runner commits
each result to the store as it arrives, so finished cells survive any
interruption, wherever they ran.
"""

from __future__ import annotations

import signal
from typing import Callable, Iterable, Iterator

from zoo.errors import ZooError


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
    takes ``cpus`` cores (and one GPU when the device is CUDA).
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int = 1):
        try:
            import ray
        except ImportError:
            raise ZooError("--executor ray needs Ray: pip install 'zoo[distributed]'") from None
        self.ray, self.cpus = ray, cpus
        if ray.is_initialized():
            return
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:  # connect before any cell starts, so a bad address is a message, not a failed run
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except Exception as error:
            raise ZooError(f"--ray-address {address}: cannot start or join a Ray cluster ({error}); "
                           "give the head's address (e.g. ray://head:10001) or leave it out for a local one") from None
        finally:
            for sig, handler in handlers.items():  # Ray's own would abort the process: keep the runner's clean stop
                if handler is not None:
                    signal.signal(sig, handler)

    def map(self, cells: Iterable, work, started: Callable = lambda cell: None) -> Iterator[tuple]:
        """``work`` is a :class:`zoo.runner.CellWork`: its shippable copy goes to the workers."""
        ray = self.ray
        gpus = 1 if work.device.startswith("cuda") else 0
        remote = ray.remote(num_cpus=self.cpus, num_gpus=gpus, max_retries=0)(_call)
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


def _call(work, cell):
    return work(cell)


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}
