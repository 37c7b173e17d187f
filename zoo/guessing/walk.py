"""Where a Guess & Check walk stands, so that a cell resumes it or a larger budget continues it.

The walk's progress is two numbers' worth of data: the stream position it
reached and the indices of the guesses it accepted before it. A guess is a
function of the cell seed and its index (:mod:`zoo.guessing.stream`), so the
accepted parameters are drawn again from their indices instead of being
stored. From such progress any budget is served exactly: a smaller
``target`` or ``max_guesses`` takes a prefix, a larger one walks on from the
position (from the chunk boundary below it, judging again the few guesses
between).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from zoo.guessing.search import SearchResult, search
from zoo.guessing.stream import ParameterStream


@dataclass
class Walk:
    position: int = 0  # guesses 0 .. position - 1 were judged
    indices: list[int] = field(default_factory=list)  # the accepted ones among them, ascending

    def state(self) -> dict:
        return {"position": self.position, "indices": list(self.indices)}

    def serves(self, stream: ParameterStream, target: int, max_guesses: int) -> SearchResult | None:
        """The result, when this walk already holds it (``target`` accepted, or ``max_guesses`` judged); else None."""
        known = [i for i in self.indices if i < min(self.position, max_guesses)]
        if len(known) >= target:
            return SearchResult(rows(stream, known[:target]), known[target - 1] + 1, known[:target])
        if self.position >= max_guesses:
            return SearchResult(rows(stream, known), max_guesses, known)
        return None

    def restart(self, chunk: int) -> tuple[int, list[int]]:
        """Where to walk on (the chunk boundary at or below the position) and the accepted guesses before it."""
        first = self.position - self.position % chunk
        return first, [i for i in self.indices if i < first]

    @classmethod
    def of(cls, state: dict) -> "Walk":
        """A saved :meth:`state`, checked: ValueError when it is not one."""
        position, indices = state["position"], state["indices"]
        if (not isinstance(position, int) or position < 0 or not isinstance(indices, list)
                or not all(isinstance(i, int) for i in indices)
                or any(b <= a for a, b in zip(indices, indices[1:])) or (indices and not 0 <= indices[0] <= indices[-1] < position)):
            raise ValueError("not a Guess & Check walk")
        return cls(position, indices)


def rows(stream: ParameterStream, indices: list[int]) -> torch.Tensor:
    """Guesses ``indices`` of the stream as ``[K, P]``."""
    if not indices:
        return torch.empty(0, stream.num_params, device=stream.device)
    return torch.cat([stream.take(i, 1) for i in indices])


def walk_on(stream: ParameterStream, judge, walk: Walk | None, *, target: int, max_guesses: int, chunk: int,
            workers: int = 1, progress=lambda **counters: None, checkpoint=lambda make_state: None) -> SearchResult:
    """:func:`search` continued from ``walk``: the same result as a search from the start.

    ``checkpoint(make_state)`` is offered the walk's state after each chunk.
    """
    walk = walk or Walk()
    served = walk.serves(stream, target, max_guesses)
    if served is not None:
        return served
    chunk = -(-chunk // stream.block) * stream.block
    first, before = walk.restart(chunk)
    result = search(stream, judge, target=target - len(before), max_guesses=max_guesses, chunk=chunk, workers=workers,
                    progress=progress, first=first,
                    checkpoint=lambda tested, indices: checkpoint(lambda: Walk(tested, before + indices).state()))
    return SearchResult(torch.cat([rows(stream, before), result.theta]), result.tested, before + result.indices)
