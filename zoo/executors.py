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
    worker or node dies is run again, up to ``retries`` times, from the last
    checkpoint it posted (a cell that raises is not rerun), then reported
    failed with the cause. Only this process opens the store, checkpoints
    included, so a rerun cell is stored once and the store can stay on this
    machine's local disk.
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int = 1, retries: int = 3):
        from zoo import cluster

        self.ray, self.cpus, self.retries = cluster.connect(address), cpus, retries

    def map(self, cells: Iterable, work, started: Callable = lambda cell: None) -> Iterator[tuple]:
        """``work`` is a :class:`zoo.runner.CellWork`: its shippable copy goes to the workers.

        A cell's stored progress is read here and shipped with it; the
        checkpoints it posts come back through a Ray queue and are written
        here, all of a cell's before its result (a worker's post returns only
        once the queue holds it), so a late in-flight checkpoint can never
        replace the final state committed with the row. A dead worker's cell
        is resubmitted here rather than by Ray, whose retry would ship the
        first attempt's progress again instead of the newest.
        """
        ray = self.ray
        from ray.util.queue import Queue

        gpus = 1 if work.device.startswith("cuda") else 0
        remote = ray.remote(num_cpus=self.cpus, num_gpus=gpus, max_retries=0)(_call)
        shipped = work.shippable()
        posts = Queue(actor_options={"num_cpus": 0}) if work.checkpointing else None

        def submit(cell):
            saved = work.saved_for(cell) if posts is not None else None
            return remote.remote(shipped, cell, saved, posts)

        futures, reruns = {}, {}
        for cell in cells:
            futures[submit(cell)] = cell
            started(cell)
        pending = list(futures)
        # No cancelling on an interrupt: Ray kills a job's tasks when its driver exits, and
        # force-cancelling tasks that are finishing at that moment can crash Ray's core worker.
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
                if posts is not None:
                    work.keep(posts.get_nowait_batch(posts.qsize()))
                if not ready:
                    continue
                (ref,) = ready
                cell = futures.pop(ref)
                try:
                    yield cell, ray.get(ref)
                except ray.exceptions.RayTaskError as error:  # the cell raised on its worker
                    yield cell, error.cause if isinstance(error.cause, Exception) else error
                except ray.exceptions.RayError as error:  # its worker or node died
                    if reruns.get(cell.id, 0) >= self.retries:
                        yield cell, error
                        continue
                    reruns[cell.id] = reruns.get(cell.id, 0) + 1
                    if posts is not None:  # what the dead worker posted, then the newest of it is shipped
                        work.keep(posts.get_nowait_batch(posts.qsize()))
                    rerun = submit(cell)
                    futures[rerun] = cell
                    pending.append(rerun)
        finally:
            if posts is not None:
                posts.shutdown()


POLL_SECONDS = 1.0  # how often posted checkpoints are written while cells run


def _call(work, cell, saved, posts):
    post = (lambda *checkpoint: posts.put(checkpoint)) if posts is not None else None
    return work.run_from(cell, saved, post)


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}
