"""Executors decide where cells run. The runner only sees ``map``.

``map(cells, work)`` yields ``(cell, result)`` for every cell as it
finishes, where ``result`` is what ``work(cell)`` returned or the exception
it raised. A distributed executor implements the same method; the runner
commits each result to the store as it arrives, so finished cells survive
any interruption.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator


class LocalExecutor:
    """Runs cells one after another in this process (each cell uses all cores)."""

    name = "local"

    def map(self, cells: Iterable, work: Callable) -> Iterator[tuple]:
        for cell in cells:
            try:
                yield cell, work(cell)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # reported by the runner; the run goes on
                yield cell, error
