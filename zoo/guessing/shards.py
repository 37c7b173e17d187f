"""Sharded Guess & Check: the stream cut into index ranges, judged anywhere, merged exactly.

Guess i depends on the cell seed and i alone, so any thread, process or
machine can judge a range of the stream: :func:`judge_range` is a pure
function of a :class:`ShardSpec` and a range ``[first, stop)``. The driver,
:func:`sharded_search`, hands ranges out in stream order to a *place*
(threads of this process or Ray workers, :mod:`zoo.guessing.places`), keeps
``parallel`` of them in flight, and merges finished ranges in stream order.
So the accepted guesses are the first ``target`` of the stream and
``tested`` is the index after the last one needed, exactly as one search on
one machine, whatever the number of shards, workers or failures:

- a range whose worker raises, dies or loses its node is judged again, up to
  ``retries`` times; then the search fails with the cause;
- once the ranges merged so far (from the start of the stream, without a
  gap) hold ``target`` accepted guesses, no later range can matter: those
  still out are cancelled;
- the merged prefix is a :class:`~zoo.guessing.walk.Walk`: it is offered as
  a checkpoint after every merge, and a search can start from one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import torch

from zoo.evaluate import LossBin
from zoo.guessing.engines import make_judge
from zoo.guessing.search import SearchResult, search
from zoo.guessing.stream import ParameterStream
from zoo.guessing.walk import Walk, rows

AUTO_CHUNKS = 256  # chunks per range when the size is left to zoo: a few seconds of one core's work


@dataclass(frozen=True)
class ShardSpec:
    """Everything a worker needs to judge any range of one cell's stream (it ships to other processes)."""

    key: str  # names this spec in a worker's cache of built judges: the cell's seed and settings
    model: object
    x: torch.Tensor  # the training set the judge decides on, on the CPU
    y: torch.Tensor
    loss_bin: LossBin | None
    engine: str
    radius: float
    seed: int
    generator: str
    device: str
    target: int
    chunk: int  # guesses per chunk, a whole number of the stream's blocks

    def built(self) -> tuple[ParameterStream, object]:
        """The stream and the judge, built once per process (a judge may compile a kernel)."""
        with _LOCK:
            if self.key not in _BUILT:
                while len(_BUILT) >= 4:
                    _BUILT.popitem(last=False)
                stream = ParameterStream(self.model.num_params, self.radius, self.seed, self.device, self.generator)
                judge = make_judge(self.engine, self.model, self.x.to(self.device), self.y.to(self.device), self.loss_bin)
                _BUILT[self.key] = stream, judge
            return _BUILT[self.key]


_BUILT: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


@dataclass
class ShardResult:
    """What a range gave: its accepted guesses (global indices, parameters on the CPU) and where it stopped."""

    first: int
    stop: int
    indices: list[int]
    theta: torch.Tensor
    end: int  # one past the last guess judged: ``stop``, or earlier once the range alone held ``target`` accepted


def judge_range(spec: ShardSpec, first: int, stop: int, workers: int = 1, progress=lambda **counters: None) -> ShardResult:
    """Judge guesses ``first .. stop - 1`` of the cell's stream; stop early at ``target`` accepted (the rest cannot count)."""
    stream, judge = spec.built()
    result = search(stream, judge, target=spec.target, max_guesses=stop, chunk=spec.chunk, workers=workers,
                    progress=progress, first=first)
    return ShardResult(first, stop, result.indices, result.theta.cpu(), result.tested)


def shard_size(size: int, chunk: int, max_guesses: int, parallel: int) -> int:
    """Guesses per range, a multiple of ``chunk``; 0 chooses: ``AUTO_CHUNKS`` chunks, fewer when the budget is small."""
    if not size:
        size = min(AUTO_CHUNKS * chunk, -(-max_guesses // parallel))
    return -(-size // chunk) * chunk


class ShardFailed(RuntimeError):
    """A range failed more often than the retries allow; the cell fails with this cause."""


class Merge:
    """Finished ranges, taken in stream order up to ``target`` accepted guesses."""

    def __init__(self, target: int, num_params: int, first: int = 0, before: list[int] = (), theta=None):
        """Merged so far: guesses ``0 .. first - 1``, accepted ``before`` (their parameters ``theta``)."""
        self.target, self.num_params = target, num_params
        self.waiting: dict[int, ShardResult] = {}  # finished, not yet next in stream order
        self.frontier, self.indices = first, list(before)  # merged: the stream up to frontier
        self.found = [theta.cpu()] if self.indices else []

    @property
    def accepted(self) -> int:
        return len(self.indices)

    @property
    def certain(self) -> bool:
        return self.accepted >= self.target

    def add(self, result: ShardResult) -> None:
        self.waiting[result.first] = result
        while not self.certain and self.frontier in self.waiting:
            shard = self.waiting.pop(self.frontier)
            need = self.target - self.accepted
            self.found.append(shard.theta[:need])
            self.indices.extend(shard.indices[:need])
            self.frontier = self.indices[-1] + 1 if self.certain else shard.end

    def pending_hits(self) -> int:
        """Accepted guesses in finished ranges beyond the frontier (for the live view only)."""
        return sum(len(shard.indices) for shard in self.waiting.values())

    def result(self) -> SearchResult:
        theta = torch.cat(self.found) if self.found else torch.empty(0, self.num_params)
        return SearchResult(theta, self.frontier, self.indices)


def sharded_search(spec: ShardSpec, place, *, max_guesses: int, size: int, parallel: int, retries: int,
                   progress=lambda **counters: None, walk: Walk | None = None,
                   checkpoint=lambda make_state: None) -> SearchResult:
    """The first ``target`` accepted guesses among the first ``max_guesses``, ranges of ``size`` judged at ``place``.

    ``place`` runs ranges (:mod:`zoo.guessing.places`): ``submit(first, stop)``
    returns a handle, ``wait(handles)`` returns ``[(handle, ShardResult or
    exception)]`` for at least one finished range, ``cancel(handles)`` gives
    up on the others. ``walk`` is progress to go on from (a checkpoint);
    ``checkpoint(make_state)`` is offered the merged walk's state after each merge.
    """
    walk = walk or Walk()
    stream = ParameterStream(spec.model.num_params, spec.radius, spec.seed, spec.device, spec.generator)  # draws known ones
    served = walk.serves(stream, spec.target, max_guesses)
    if served is not None:
        return served
    first, before = walk.restart(spec.chunk)
    merge = Merge(spec.target, spec.model.num_params, first, before, rows(stream, before) if before else None)
    out: dict = {}  # handle -> (first, stop, failures so far)
    next_first, judged, began = first, 0, time.perf_counter()

    def submit(first: int, stop: int, failures: int) -> None:
        out[place.submit(first, stop)] = (first, stop, failures)

    try:
        while not merge.certain:
            while len(out) < parallel and next_first < max_guesses:
                submit(next_first, min(next_first + size, max_guesses), 0)
                next_first += size
            if not out:
                break
            for handle, result in place.wait(list(out)):
                first, stop, failures = out.pop(handle)
                if isinstance(result, BaseException):
                    if failures >= retries:
                        raise ShardFailed(f"guesses {first:,}..{stop - 1:,} failed {failures + 1} times "
                                          f"({type(result).__name__}: {result})") from result
                    submit(first, stop, failures + 1)
                    continue
                judged += result.end - result.first
                merge.add(result)
                checkpoint(lambda: Walk(merge.frontier, list(merge.indices)).state())
            progress(tested=judged, accepted=min(spec.target, merge.accepted + merge.pending_hits()),
                     rate=judged / max(time.perf_counter() - began, 1e-9), shards=len(out))
    finally:
        if out:
            place.cancel(list(out))
    return merge.result()
