"""Good minima against poisoned ones: accuracy and volume side by side.

The first table gives each optimizer's test accuracy per training-set size
(and loss bin), mean ± std over its reported models of all seeds; difference
tables give the first optimizer minus each other one with 95% intervals over
seeds. The volume table gives, for Guess & Check and poisoned Guess & Check,
the share of uniform guesses that were accepted, pooled over seeds, as log10
with its 95% interval (:func:`zoo.statistics.pooled_rate`: the spread between
seeds and the binomial noise; an upper bound when nothing was accepted). A
poisoned row also gives log10(good / poisoned), the factor by which the good
minima outweigh the bad ones, against the plain optimizer of the same name
(``poisoned_guess_check`` against ``guess_check``), paired by seed, with its
interval (+∞ as the high end when the poisoned one accepted nothing). For
trained optimizers the table gives how many runs fit (their accepted /
tested), the clean train accuracy of the reported models (Table 1 requires
100%) and the wall time.
"""

from __future__ import annotations

import math

from zoo.reports import Counts, LogRatio, Number, Stat, Table, Volume, axes_key, numbers, orderable
from zoo.reports.bins import bin_name, group
from zoo.reports.budget import pooled_counts
from zoo.reports.differences import difference_tables, pooled_models
from zoo.statistics import DEFAULT_MARGIN, log10_ratio, pooled_rate

VOLUME_OPTIMIZERS = ("guess_check", "poisoned_guess_check")
POISONED = "poisoned_"


def seed_counts(records: list[dict]) -> dict[int, tuple[int, int]]:
    """``{seed: (accepted, tested)}`` summed over the cells of each seed."""
    out: dict[int, tuple[int, int]] = {}
    finite = lambda v: int(sum(x for x in numbers([v]) if math.isfinite(x)))  # noqa: E731  a NaN count is no count
    for r in records:
        c = r["metrics"]["counters"]
        old = out.get(r["seed"], (0, 0))
        out[r["seed"]] = (old[0] + finite(c.get("accepted", 0)), old[1] + finite(c.get("tested", 0)))
    return out


def volume(records: list[dict]) -> Volume:
    counts = seed_counts(records)
    return Volume(pooled_rate([a for a, _ in counts.values()], [t for _, t in counts.values()]))


def ratio(good: list[dict], poisoned: list[dict]) -> LogRatio:
    """log10(good rate / poisoned rate) over the seeds both have."""
    g, p = seed_counts(good), seed_counts(poisoned)
    seeds = sorted(set(g) & set(p))
    if not seeds:
        return LogRatio(None, None, None)
    return LogRatio(*log10_ratio([g[s][0] for s in seeds], [g[s][1] for s in seeds],
                                 [p[s][0] for s in seeds], [p[s][1] for s in seeds]))


def _train_accuracy(records: list[dict]) -> Number:
    """Mean train accuracy over the reported models of all cells, in percent."""
    pairs = [(r["metrics"]["train_acc"]["mean"], r["metrics"]["models"]) for r in records if r["metrics"]["models"]]
    total = sum(count for _, count in pairs)
    return Number(100 * sum(acc * count for acc, count in pairs) / total if total else None)


def _wall(records: list[dict]) -> Number:
    return Number(sum(numbers(r["metrics"]["wall_time"] for r in records)))


def _good_label(records: list[dict], optimizer: str) -> str | None:
    """The label of the first plain optimizer that a poisoned one is measured against."""
    if not optimizer.startswith(POISONED):
        return None
    plain = optimizer[len(POISONED):]
    return next((r["label"] for r in records if r["optimizer"] == plain), None)


def _row_key(record: dict) -> tuple:
    """Extra axis values, n and loss bin: what a row of both tables stands for."""
    return tuple(v for _, v in axes_key(record)), record["n"], tuple(record["bin"]) if record["bin"] else None


def tables(records: list[dict], margin: float = DEFAULT_MARGIN) -> list[Table]:
    bench, first = records[0]["bench"], records[0]
    axis_names = sorted({a for r in records for a in r["axes"]})
    cells = group(records, lambda r: (_row_key(r), r["label"]))
    labels = list(dict.fromkeys(r["label"] for r in records))
    optimizer_of = {r["label"]: r["optimizer"] for r in records}
    keys = sorted({key for key, _ in cells}, key=lambda k: (orderable(k[0]), orderable(k[1]), k[2] is not None, orderable(k[2])))
    binned = any(b is not None for _, _, b in keys)
    lead = axis_names + ["n"] + (["bin"] if binned else [])
    head = lambda key: list(key[0]) + [key[1]] + ([bin_name(key[2])] if binned else [])  # noqa: E731
    where = f"{first['task']}, {first['model']}"

    accuracy = [head(key) + [Stat.of(v for r in cells.get((key, label), []) for v in r["metrics"]["test_acc_values"])
                             for label in labels] for key in keys]
    rows = []
    for key in keys:
        for label in labels:
            rs = cells.get((key, label))
            if not rs:
                continue
            counts = pooled_counts(rs)
            shown, against = Number(None), Number(None)
            if optimizer_of[label] in VOLUME_OPTIMIZERS and counts[1]:
                shown = volume(rs)
                good = _good_label(records, optimizer_of[label])
                if good and cells.get((key, good)):
                    against = ratio(cells[(key, good)], rs)
            rows.append(head(key) + [label, Counts(*counts), shown, against, _train_accuracy(rs), _wall(rs)])
    return [
        Table(f"{bench}: test accuracy % ({where})", lead + labels, accuracy,
              "mean ± std over reported models (count), all seeds pooled", keys=len(lead)),
        *difference_tables(bench, "test accuracy", where, lead, keys, head, cells, labels, pooled_models, margin),
        Table(f"{bench}: volume and cost ({where})",
              lead + ["optimizer", "accepted / tested", "log10 volume [95% CI]", "log10 good/poisoned [95% CI]",
                      "train acc %", "wall s"],
              rows,
              "volume: accepted share of uniform guesses (Guess & Check rows), seeds pooled, its interval with the "
              "spread between seeds; train acc: clean training set, mean over reported models; wall s: summed over seeds",
              keys=len(lead) + 1),
    ]
