"""Where the ranges of a sharded Guess & Check run: threads of this process, or Ray workers.

Both give :func:`zoo.guessing.shards.sharded_search` the same three calls
(``submit``, ``wait``, ``cancel``) and hand back a range's
:class:`~zoo.guessing.shards.ShardResult` or the exception that ended it,
so a failure is retried the same way wherever it happened.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from zoo.guessing.search import torch_threads
from zoo.guessing.shards import ShardSpec, judge_range

PLACES = ("threads", "ray")


class Cancelled(Exception):
    """Raised inside a thread's range once its result can no longer count."""


class ThreadPlace:
    """Ranges on ``parallel`` threads of this process, one torch thread each."""

    def __init__(self, spec: ShardSpec, parallel: int):
        self.spec, self.stop = spec, threading.Event()
        self.pool = ThreadPoolExecutor(parallel)
        self.threads = torch_threads(1)
        self.threads.__enter__()

    def _run(self, first: int, stop: int):
        def check(**counters):  # called after every chunk: a cancelled range stops there
            if self.stop.is_set():
                raise Cancelled
        return judge_range(self.spec, first, stop, progress=check)

    def submit(self, first: int, stop: int):
        return self.pool.submit(self._run, first, stop)

    def wait(self, handles: list) -> list:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        return [(future, future.exception() or future.result()) for future in handles if future in done]

    def cancel(self, handles: list) -> None:
        self.stop.set()
        for future in handles:
            future.cancel()

    def close(self) -> None:
        self.stop.set()
        self.pool.shutdown(wait=True)
        self.threads.__exit__(None, None, None)


class RayPlace:
    """Ranges as Ray tasks: on this machine's cores or a cluster's (the driver joins it, :func:`zoo.cluster.connect`).

    Each range takes ``cpus`` cores, and one GPU when the cell's device is
    CUDA. Ray itself never retries a range (``max_retries=0``): the driver
    does, so that a failure is counted and bounded the same way everywhere.
    """

    def __init__(self, spec: ShardSpec, cpus: int = 1):
        from zoo import cluster

        self.ray = cluster.connect(None)
        gpus = 1 if spec.device.startswith("cuda") else 0
        self.remote = self.ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(_judge_range)
        self.spec, self.cpus = self.ray.put(spec), cpus
        # a worker's torch runs ``cpus`` threads (Ray sets OMP_NUM_THREADS); the range runs that many search threads

    def submit(self, first: int, stop: int):
        return self.remote.remote(self.spec, first, stop, self.cpus)

    def wait(self, handles: list) -> list:
        ray = self.ray
        ready, _ = ray.wait(handles, num_returns=1)
        out = []
        for ref in ready:
            try:
                out.append((ref, ray.get(ref)))
            except ray.exceptions.RayTaskError as error:  # the range raised on its worker
                out.append((ref, error.cause if isinstance(error.cause, Exception) else error))
            except ray.exceptions.RayError as error:  # its worker or node died, or its result was lost
                out.append((ref, error))
        return out

    def cancel(self, handles: list) -> None:
        for ref in handles:  # not forced: a range stops after its current chunk, its worker lives on
            self.ray.cancel(ref)

    def close(self) -> None:
        pass


def _judge_range(spec: ShardSpec, first: int, stop: int, workers: int):
    return judge_range(spec, first, stop, workers)


def make_place(name: str, spec: ShardSpec, parallel: int, cpus: int = 1):
    """``parallel`` threads here, or Ray tasks of ``cpus`` cores each."""
    if name not in PLACES:
        raise ValueError(f"shard_on must be one of {list(PLACES)}, got {name!r}")
    return ThreadPlace(spec, parallel) if name == "threads" else RayPlace(spec, cpus)
