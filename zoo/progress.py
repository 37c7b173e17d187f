"""Live progress on stderr: all cells, the current cell, and its counters."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _counters_text(counters: dict) -> str:
    parts = []
    for key in ("tested", "accepted"):
        if key in counters:
            parts.append(f"{key} {_number(counters[key], ',.0f')}")
    if counters.get("rate"):
        parts.append(f"{_number(counters['rate'], ',.0f')}/s")
    for key, value in counters.items():
        if key not in ("tested", "accepted", "rate"):
            parts.append(f"{key} {_number(value, ',.4g' if isinstance(value, float) else ',')}")
    return " · ".join(parts)


def _number(value, spec: str) -> str:
    """A plugin's counter as text; NaN, None or a string shows as such instead of stopping the run."""
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


class LiveProgress:
    """A context manager wrapping a rich Progress with two bars.

    When stderr is not a terminal (a log file, CI), rich draws nothing live,
    so every finished cell gets one plain line instead.
    """

    def __init__(self, total: int, console: Console | None = None, min_interval: float = 0.1):
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            # labels and bench names come from manifests: shown literally, never as markup
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[counters]}", markup=False), console=self.console, transient=False,
        )
        self.total, self.min_interval, self._last = total, min_interval, 0.0
        self.finished, self._cell, self._counters = 0, None, {}

    def __enter__(self):
        self.progress.__enter__()
        self.all = self.progress.add_task("cells", total=self.total, counters="")
        self.cell = self.progress.add_task("", total=None, counters="", visible=False)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def shrink(self, cells: int) -> None:
        """``cells`` of the total were left to another runner: the bar ends at what this one ran."""
        if cells:
            self.total -= cells
            self.progress.update(self.all, total=self.total)

    def start_cell(self, cell) -> None:
        self._cell, self._counters = cell, {}
        self.progress.update(self.cell, description=cell.describe(), counters="", visible=True)

    def update(self, **counters) -> None:
        self._counters = counters
        now = time.monotonic()
        if now - self._last >= self.min_interval:  # counters arrive per chunk; redraw at most 10 times a second
            self._last = now
            self.progress.update(self.cell, counters=_counters_text(counters))

    def finish_cell(self, cell, note=None, seconds: float = 0.0) -> None:
        """``note`` (a rich ``Text``, printed as is) replaces the plain line, e.g. for a failed cell."""
        self.progress.update(self.cell, visible=False)
        self.progress.advance(self.all)
        self.finished += 1
        if note:
            self.progress.console.print(note)
        elif not self.console.is_terminal:
            # the live counters belong to the cell that ran here last; a remote cell has none
            live = self._counters if cell is self._cell else {}
            counters = _counters_text({k: v for k, v in live.items() if k != "rate"})
            self.console.print(f"[{self.finished}/{self.total}] {cell.describe()} "
                               f"({seconds:.1f} s{'; ' + counters if counters else ''})",
                               markup=False, highlight=False)
