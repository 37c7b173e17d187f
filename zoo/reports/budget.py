"""Cells a budget could not fill: fewer models than the manifest asked for.

An optimizer with a ``target`` stops at its budget (``max_guesses``,
``max_models``) whether or not it found that many models. Such a cell's mean
would rest on fewer models than the table's other cells, or on none, so a
report shows it as unfilled: how many it found of how many it was asked for,
after how many tries, and the 95% bound on the accepted share that the tries
give (for Guess & Check, on the volume of the region).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoo.metrics import clopper_pearson
from zoo.reports import numbers


def pooled_counts(records: list[dict]) -> tuple[int, int]:
    """Accepted and tested guesses summed over cells."""
    counters = [r["metrics"]["counters"] for r in records]
    finite = lambda vs: [v for v in numbers(vs) if math.isfinite(v)]  # noqa: E731  a NaN count is no count
    return int(sum(finite(c.get("accepted", 0) for c in counters))), int(sum(finite(c.get("tested", 0) for c in counters)))


@dataclass(frozen=True)
class Shortfall:
    """``found`` models reported where ``asked`` were wanted, after ``tested`` tries of which ``accepted`` passed."""

    found: int
    asked: int
    accepted: int
    tested: int

    def share_text(self) -> str:
        low, high = clopper_pearson(self.accepted, self.tested)
        if self.accepted == 0:
            return f"accepted share < {high:.1e} (95% upper bound)"
        return f"accepted share {self.accepted / self.tested:.1e} [{low:.1e}, {high:.1e}] (95%)"


def shortfall(records: list[dict]) -> Shortfall | None:
    """The shortfall of the cells pooled in one table entry; None when they are full or ask for no count."""
    targets = [r["spec"].get("optimizer", {}).get("params", {}).get("target") for r in records]
    if not records or not all(isinstance(t, int) and not isinstance(t, bool) for t in targets):
        return None
    found = sum(len(numbers(r["metrics"].get("test_acc_values", []))) for r in records)
    asked = sum(targets)
    if found >= asked:
        return None
    return Shortfall(found, asked, *pooled_counts(records))
