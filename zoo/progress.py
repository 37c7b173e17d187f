"""Live progress on stderr: all cells with an ETA, the current cell, and its counters.

On a terminal the bars redraw in place; anywhere else (a log file, CI) each
finished cell is one plain line that never wraps, whatever the width.
"""

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
            whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            parts.append(f"{key} {_number(value, ',.0f' if whole else ',.4g' if isinstance(value, float) else '')}")
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
            TextColumn("{task.fields[eta]}"), TextColumn("{task.fields[counters]}", markup=False),
            console=self.console, transient=False,
        )
        self.total, self.min_interval, self._last = total, min_interval, 0.0
        self._started = time.monotonic()
        self.finished, self._cell, self._counters = 0, None, {}

    def __enter__(self):
        self.progress.__enter__()
        self.all = self.progress.add_task("cells", total=self.total, counters="", eta="")
        self.cell = self.progress.add_task("", total=None, counters="", eta="", visible=False)
        self._started = time.monotonic()
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

    def eta(self) -> str:
        """Time left for the run at the mean pace of the cells finished so far ("" before the first)."""
        if not self.finished or self.finished >= self.total:
            return ""
        left = (time.monotonic() - self._started) / self.finished * (self.total - self.finished)
        minutes, seconds = divmod(int(left + 0.5), 60)
        hours, minutes = divmod(minutes, 60)
        return f"ETA {hours}:{minutes:02d}:{seconds:02d}" if hours else f"ETA {minutes}:{seconds:02d}"

    def finish_cell(self, cell, note=None, seconds: float = 0.0, counters: dict | None = None) -> None:
        """One cell done; ``counters`` are its outcome's final counters.

        ``note`` (a rich ``Text``, printed as is) replaces the plain line, e.g. for a failed cell.
        """
        self.progress.update(self.cell, visible=False)
        self.progress.advance(self.all)
        self.finished += 1
        eta = self.eta()
        self.progress.update(self.all, eta=eta)
        if note:
            self.progress.console.print(note, soft_wrap=not self.console.is_terminal)
        elif not self.console.is_terminal:
            if counters is None:  # the live counters belong to the cell that ran here last; a remote cell has none
                counters = self._counters if cell is self._cell else {}
            text = _counters_text({k: v for k, v in counters.items() if k != "rate"})
            self.console.print(f"[{self.finished}/{self.total}] {cell.describe()} "
                               f"({seconds:.1f} s{'; ' + text if text else ''}){'; ' + eta if eta else ''}",
                               markup=False, highlight=False, soft_wrap=True)
