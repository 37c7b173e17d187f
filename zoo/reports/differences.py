"""Difference tables: the first optimizer of a bench against each other one, with intervals and verdicts.

Every layout that prints optimizers next to each other adds these tables, so
no comparison is printed without its uncertainty. Cells are paired by matrix
point (the row) and data seed; :mod:`zoo.statistics` does the arithmetic.
"""

from __future__ import annotations

import math
import statistics as stats
from typing import Callable

from zoo.reports import Difference, Table, numbers
from zoo.statistics import Comparison, paired_difference


def _accuracies(record: dict) -> list[float]:
    return [v for v in numbers(record["metrics"]["test_acc_values"]) if math.isfinite(v)]


def pooled_models(record: dict) -> tuple[float, int]:
    """A cell's test accuracies in percent: their sum and number (a seed's value is the mean of its models)."""
    values = _accuracies(record)
    return 100.0 * sum(values), len(values)


def episode_mean(record: dict) -> tuple[float, int]:
    """A few-shot episode's mean query accuracy in percent (the same as :func:`pooled_models`: one episode is one seed)."""
    values = _accuracies(record)
    return (100.0 * stats.fmean(values), 1) if values else (0.0, 0)


def seed_units(records: list[dict], unit: Callable) -> dict[int, tuple[float, int]]:
    """``{seed: (sum, count)}`` over the records of one side (records of one seed add up)."""
    out: dict[int, tuple[float, int]] = {}
    for record in records:
        total, count = unit(record)
        old = out.get(record["seed"], (0.0, 0))
        out[record["seed"]] = (old[0] + total, old[1] + count)
    return out


def compare(a: list[dict], b: list[dict], unit: Callable, margin: float) -> Comparison:
    """A − B over the seeds where both sides have values, paired by seed."""
    ua, ub = seed_units(a, unit), seed_units(b, unit)
    seeds = sorted(set(ua) & set(ub))
    return paired_difference([ua[s][0] for s in seeds], [ua[s][1] for s in seeds],
                             [ub[s][0] for s in seeds], [ub[s][1] for s in seeds], margin=margin)


NOTE = ("first minus second in percentage points, the mean over the data seeds where both report a model (seeds) "
        "of the difference of their means; [95% CI] from a paired bootstrap over those seeds; * the interval excludes "
        "zero; equivalence: two one-sided tests against ±{margin:g} points (docs/statistics.md)")


def difference_tables(bench: str, what: str, where: str, lead: list[str], keys: list, head: Callable,
                      cells: dict, labels: list[str], unit: Callable, margin: float) -> list[Table]:
    """One table per further optimizer: a row per key with A − B [95% CI], seeds and the verdict.

    ``cells`` maps ``(key, label)`` to records; ``head(key)`` gives a row's leading values;
    ``unit(record)`` a cell's (sum, count) of values in percent, (0, 0) to leave it out.
    """
    out = []
    first = labels[0]
    for other in labels[1:]:
        rows = []
        for key in keys:
            a, b = cells.get((key, first)), cells.get((key, other))
            if not a or not b:
                continue
            comparison = compare(a, b, unit, margin)
            rows.append(head(key) + [Difference(comparison), comparison.seeds, comparison.verdict])
        if rows:
            out.append(Table(f"{bench}: {first} − {other}, {what} ({where})",
                             lead + ["difference [95% CI]", "seeds", f"equivalence ±{margin:g}"], rows,
                             NOTE.format(margin=margin), keys=len(lead)))
    return out
