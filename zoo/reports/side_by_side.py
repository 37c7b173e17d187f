"""The paper's Table 4 layout: optimizers side by side, rows = training samples.

The first table gives, for each n, every optimizer's test accuracy, mean ±
std over its fitted models of all seeds: every optimizer reports only runs
that reached 100% train accuracy (a run that did not is restarted, as in the
reference). Difference tables give the first optimizer minus each other one
with 95% intervals over seeds and the equivalence verdict. The last table says
how many runs fitted out of those started, how many fresh starts that took,
the best train accuracy of the runs that did not fit, and what the cell cost:
steps, forward evaluations (candidate models evaluated on the whole training
set) and wall time, each the mean per cell.
"""

from __future__ import annotations

import math
import statistics

from zoo.reports import Counts, Number, Stat, Table, axes_key, numbers, orderable
from zoo.reports.bins import axes_text, group
from zoo.reports.differences import difference_tables, pooled_models
from zoo.statistics import DEFAULT_MARGIN


def _mean_counter(records: list[dict], name: str) -> Number:
    values = numbers(r["metrics"]["counters"][name] for r in records if name in r["metrics"]["counters"])
    return Number(statistics.fmean(values) if values else None, ",.0f")


def _reached(records: list[dict]) -> Counts:
    """Runs that fitted of those started; a gradient baseline's ``fit`` counts every trained model that fits."""
    tested = sum(numbers(r["metrics"]["counters"].get("tested", 0) for r in records))
    accepted = sum(numbers(r["metrics"]["counters"].get("fit", r["metrics"]["counters"].get("accepted", 0)) for r in records))
    return Counts(accepted, tested)  # a NaN count shows as nan


def _sum_counter(records: list[dict], name: str) -> Number:
    values = numbers(r["metrics"]["counters"][name] for r in records if name in r["metrics"]["counters"])
    return Number(sum(values) if values else None, ",.0f")


def _best_unfitted(records: list[dict]) -> Number:
    values = numbers(r["metrics"]["counters"]["unfitted_best_train_acc"] for r in records
                     if "unfitted_best_train_acc" in r["metrics"]["counters"])
    return Number(max(values) * 100 if values else None)


def tables(records: list[dict], margin: float = DEFAULT_MARGIN) -> list[Table]:
    out = []
    bench, first = records[0]["bench"], records[0]
    for axes, by_axes in group(records, axes_key).items():
        where = f"{first['task']}, {first['model']}{axes_text(axes)}"
        cells = group(by_axes, lambda r: (r["n"], r["label"]))
        labels = list(dict.fromkeys(r["label"] for r in by_axes))
        sizes = sorted({r["n"] for r in by_axes}, key=orderable)
        accuracy = [[n] + [Stat.of(v for r in cells.get((n, label), []) for v in r["metrics"]["test_acc_values"]) for label in labels]
                    for n in sizes]
        out.append(Table(f"{bench}: test accuracy % ({where})", ["n"] + labels, accuracy,
                         "mean ± std over fitted models (count), all seeds pooled; runs that did not reach 100% train "
                         "accuracy are never included"))
        cost = []
        for n in sizes:
            for label in labels:
                rs = cells.get((n, label), [])
                if rs:
                    wall = statistics.fmean(numbers(r["metrics"]["wall_time"] for r in rs) or [math.nan])
                    cost.append([n, label, len(rs), _reached(rs), _sum_counter(rs, "restarts"), _best_unfitted(rs),
                                 _mean_counter(rs, "steps"), _mean_counter(rs, "forward_evals"), Number(wall)])
        out += difference_tables(bench, "test accuracy", where, ["n"], sizes, lambda n: [n], cells, labels,
                                 pooled_models, margin)
        out.append(Table(f"{bench}: runs and cost ({where})",
                         ["n", "optimizer", "cells", "fitted / runs", "restarts", "best unfitted train acc %", "steps",
                          "forward evals", "wall s"], cost,
                         "fitted / runs: runs that reached 100% train accuracy of those started (for SGD: models of those "
                         "trained, of which it reports target per cell), all cells; restarts: fresh starts after a run (an SGD population) that did not fit, "
                         "all cells; best unfitted: the highest train accuracy a run that did not count reached; steps, "
                         "forward evals and wall time: mean per cell; – where the optimizer does not count it", keys=2))
    return out
