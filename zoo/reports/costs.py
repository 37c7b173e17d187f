"""The cost model's table: per bench entry, the accepted share, the guesses a cell needs and the time on three machines.

Every figure carries the 95% interval of the accepted share it rests on
(:mod:`zoo.speed.estimate`); "reach" says whether the entry's cells finish within
the horizon at the slow end of that interval (yes), not even at the fast
end (no), or it depends (?).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoo.reports import Table, Volume

DEFAULT_HORIZON = 7 * 86_400  # "within reach": a bench entry done within a week
UNITS = ((365.25 * 86_400, "y"), (86_400, "d"), (3_600, "h"), (60, "min"), (1, "s"))


def reach(times: tuple, horizon: float) -> str:
    """yes: done within the horizon even at the slow end of the interval; no: not even at the fast end."""
    _, lo, hi = times
    return "yes" if hi <= horizon else "no" if lo > horizon else "?"


def duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "∞"
    for size, unit in UNITS:
        if seconds >= size or unit == "s":
            value = seconds / size
            return f"{value:.2g} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return ""


def count(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:.2g}" if value >= 1e4 else f"{value:,.0f}"


@dataclass(frozen=True)
class Need:
    """An expected amount with its 95% range; ``> low`` when nothing was accepted (no expected value)."""

    mean: float | None
    low: float
    high: float
    seconds: bool = False
    verdict: str = ""

    def __str__(self) -> str:
        show = duration if self.seconds else count
        text = f"> {show(self.low)}" if self.mean is None else f"{show(self.mean)} [{show(self.low)}, {show(self.high)}]"
        return f"{text} {self.verdict}".strip()

    def plain(self) -> dict:
        finite = lambda v: v if v is not None and math.isfinite(v) else None  # noqa: E731
        out = {"expected": finite(self.mean), "ci_low": finite(self.low), "ci_high": finite(self.high)}
        return {**out, "within_reach": self.verdict} if self.verdict else out


def tables(estimates, workers: int, gpu_tflops: float, horizon: float) -> list[Table]:
    by_entry: dict[tuple, list] = {}
    for e in estimates:
        by_entry.setdefault((e.bench, e.label), []).append(e)
    out = []
    for (bench, label), rows in by_entry.items():
        table = Table(f"{bench}: {label}, cost of each entry (all its seeds)",
                      ["n", "bin", "seeds", "log10 accepted share [95% CI]", "from", "guesses per cell", "within max_guesses",
                       "this machine", "1 GPU", f"{workers} GPUs"], keys=2)
        for e in sorted(rows, key=lambda e: (e.n, e.loss_bin or ())):
            times = [e.times(e.rate_here), e.times(e.gpu_rate(gpu_tflops)), e.times(e.gpu_rate(gpu_tflops), workers)]
            table.rows.append([e.n, f"({e.loss_bin[0]:g}, {e.loss_bin[1]:g}]" if e.loss_bin else "–", e.cells,
                               Volume(e.share), f"{e.source}: {e.share.accepted:,} / {e.share.tested:,}",
                               Need(*e.guesses), e.within_budget(),
                               *(Need(*t, seconds=True, verdict=reach(t, horizon)) for t in times)])
        first = rows[0]
        table.note = (f"this machine: each entry at its own measured rate ({first.rate_here:,.0f} guesses/s at "
                      f"n={first.n}); GPU: {gpu_tflops:g} TFLOP/s sustained (assumed, --gpu-tflops) on "
                      f"{first.flop_per_guess:,.0f} FLOP per guess at n={first.n}; {workers} GPUs share an entry's cells "
                      f"and streams. yes/no/?: done within {duration(horizon)} at the slow / not even at the fast end of "
                      "the interval.")
        out.append(table)
    return out
