"""The search loop: walk the parameter stream until enough guesses are accepted.

The stream is cut into chunks of whole blocks; a judge returns the accepted
rows of a chunk. Chunks are judged on ``workers`` threads (each draws and
judges whole chunks into its own reusable buffer, torch running one thread
per op), and their verdicts are taken in stream order, so the result is the
first ``target`` accepted guesses of the stream whatever the chunk size and
the number of threads. ``tested`` is the index of the last accepted guess
needed, plus one: the guesses after it were never required.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from zoo.guessing.stream import ParameterStream


@dataclass
class SearchResult:
    theta: torch.Tensor  # [K, P] accepted guesses, in stream order
    tested: int
    indices: list[int]  # each accepted guess's index in the stream


@contextmanager
def torch_threads(count: int):
    """Run with ``count`` intra-op threads, then restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ChunkJudge:
    """Draws chunk k of the stream into a per-thread buffer and returns its accepted guesses."""

    def __init__(self, stream: ParameterStream, judge, chunk: int, max_guesses: int):
        self.stream, self.judge, self.chunk, self.max_guesses = stream, judge, chunk, max_guesses
        self.buffers = threading.local()

    def __call__(self, k: int) -> tuple[int, int, torch.Tensor, torch.Tensor]:
        start = k * self.chunk
        count = min(self.chunk, self.max_guesses - start)
        if getattr(self.buffers, "theta", None) is None:
            self.buffers.theta = torch.empty(self.chunk, self.stream.num_params, device=self.stream.device)
        with torch.inference_mode():
            theta = self.buffers.theta[: -(-count // self.stream.block) * self.stream.block]
            hits = self.judge.draw_and_judge(self.stream, theta, start)
            hits = hits[hits < count]  # a last chunk of whole blocks may run past max_guesses
            return start, count, hits, theta[hits].clone()


def search(stream: ParameterStream, judge, *, target: int, max_guesses: int, chunk: int, workers: int = 1,
           progress=lambda **counters: None, first: int = 0, checkpoint=lambda tested, indices: None) -> SearchResult:
    """The first ``target`` guesses of ``stream`` that ``judge`` accepts, among guesses ``first .. max_guesses - 1``.

    ``first`` (a multiple of ``chunk``) starts the walk further on: a shard of the stream
    (:mod:`zoo.guessing.shards`); ``tested`` is then the index the walk stopped at.
    ``checkpoint(tested, indices)`` is told where the walk stands after each chunk.
    """
    chunk = -(-chunk // stream.block) * stream.block
    if first % chunk:
        raise ValueError(f"a search starts at a multiple of its chunk ({chunk} guesses), not at {first}")
    work = ChunkJudge(stream, judge, chunk, max_guesses)
    chunks = range(first // chunk, -(-max_guesses // chunk))
    found, indices, n_found, tested, began = [], [], 0, first, time.perf_counter()

    def take(verdict) -> bool:
        nonlocal n_found, tested
        start, count, hits, theta = verdict
        need = target - n_found
        found.append(theta[:need])
        indices.extend(start + int(hit) for hit in hits[:need])
        if len(hits) >= need:
            n_found, tested = target, start + int(hits[need - 1]) + 1
        else:
            n_found, tested = n_found + len(hits), start + count
        progress(tested=tested, accepted=n_found, rate=(tested - first) / max(time.perf_counter() - began, 1e-9))
        checkpoint(tested, indices)
        return n_found >= target

    if workers <= 1:
        for k in chunks:
            if take(work(k)):
                break
    else:
        with torch_threads(1), ThreadPoolExecutor(workers) as pool:
            pending, k = deque(), chunks.start
            while pending or k < chunks.stop:
                while k < chunks.stop and len(pending) < 2 * workers:
                    pending.append(pool.submit(work, k))
                    k += 1
                if take(pending.popleft().result()):
                    for future in pending:
                        future.cancel()
                    break
    theta = torch.cat(found) if found else torch.empty(0, stream.num_params, device=stream.device)
    return SearchResult(theta, tested, indices)
