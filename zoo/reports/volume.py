"""Good minima against poisoned ones: accuracy and volume side by side.

The first table gives each optimizer's test accuracy per training-set size
(and loss bin), mean ± std over its reported models of all seeds. The second
is the volume table: for Guess & Check and poisoned Guess & Check the share
of uniform guesses that were accepted, pooled over seeds, as log10 with its
exact 95% Clopper-Pearson interval (an upper bound when nothing was
accepted). A poisoned row also gives log10(good / poisoned), the factor by
which the good minima outweigh the bad ones, against the plain optimizer of
the same name (``poisoned_guess_check`` against ``guess_check``); "≥" marks
the conservative end, the good interval's low end over the poisoned one's
high end. For trained optimizers the table gives how many runs fit (their
accepted / tested), the clean train accuracy of the reported models (Table 1
requires 100%) and the wall time.
"""

from __future__ import annotations

import math

from zoo.metrics import clopper_pearson
from zoo.reports import Stat, Table, axes_key, numbers, orderable
from zoo.reports.bins import bin_name, group

VOLUME_OPTIMIZERS = ("guess_check", "poisoned_guess_check")
POISONED = "poisoned_"


def pooled_counts(records: list[dict]) -> tuple[int, int]:
    """Accepted and tested guesses summed over cells."""
    counters = [r["metrics"]["counters"] for r in records]
    finite = lambda vs: [v for v in numbers(vs) if math.isfinite(v)]  # noqa: E731  a NaN count is no count
    return int(sum(finite(c.get("accepted", 0) for c in counters))), int(sum(finite(c.get("tested", 0) for c in counters)))


def log10_volume(accepted: int, tested: int) -> tuple[float | None, float | None, float]:
    """log10 of the rate and of its 95% interval's ends (None for a zero end)."""
    low, high = clopper_pearson(accepted, tested)
    as_log = lambda p: math.log10(p) if p > 0 else None  # noqa: E731
    return as_log(accepted / tested), as_log(low), as_log(high)


def volume_text(accepted: int, tested: int) -> tuple[str, str]:
    """The log10 volume and its 95% interval as table text."""
    rate, low, high = log10_volume(accepted, tested)
    if rate is None:
        return f"< {high:.2f}", "nothing accepted"
    return f"{rate:.2f}", f"[{low:.2f}, {high:.2f}]"


def ratio_text(good: tuple[int, int], poisoned: tuple[int, int]) -> str:
    """log10(good rate / poisoned rate) and its conservative end."""
    g_rate, g_low, _ = log10_volume(*good)
    p_rate, _, p_high = log10_volume(*poisoned)
    if g_rate is None:
        return "–"
    bound = f"≥ {g_low - p_high:+.2f}" if g_low is not None else "–"
    return bound if p_rate is None else f"{g_rate - p_rate:+.2f} ({bound})"


def _train_accuracy(records: list[dict]) -> str:
    """Mean train accuracy over the reported models of all cells, in percent."""
    pairs = [(r["metrics"]["train_acc"]["mean"], r["metrics"]["models"]) for r in records if r["metrics"]["models"]]
    total = sum(count for _, count in pairs)
    return f"{100 * sum(acc * count for acc, count in pairs) / total:.1f}" if total else "–"


def _wall(records: list[dict]) -> str:
    return f"{sum(numbers(r['metrics']['wall_time'] for r in records)):,.1f}"


def _good_label(records: list[dict], optimizer: str) -> str | None:
    """The label of the first plain optimizer that a poisoned one is measured against."""
    if not optimizer.startswith(POISONED):
        return None
    plain = optimizer[len(POISONED):]
    return next((r["label"] for r in records if r["optimizer"] == plain), None)


def _row_key(record: dict) -> tuple:
    """Extra axis values, n and loss bin: what a row of both tables stands for."""
    return tuple(v for _, v in axes_key(record)), record["n"], tuple(record["bin"]) if record["bin"] else None


def tables(records: list[dict]) -> list[Table]:
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
            volume, interval, ratio = "–", "–", "–"
            if optimizer_of[label] in VOLUME_OPTIMIZERS and counts[1]:
                volume, interval = volume_text(*counts)
                good = _good_label(records, optimizer_of[label])
                if good and cells.get((key, good)):
                    ratio = ratio_text(pooled_counts(cells[(key, good)]), counts)
            rows.append(head(key) + [label, f"{counts[0]:,} / {counts[1]:,}", volume, interval, ratio,
                                     _train_accuracy(rs), _wall(rs)])
    return [
        Table(f"{bench}: test accuracy % ({where})", lead + labels, accuracy,
              "mean ± std over reported models (count), all seeds pooled"),
        Table(f"{bench}: volume and cost ({where})",
              lead + ["optimizer", "accepted / tested", "log10 volume", "95% CI (log10)", "log10 good/poisoned",
                      "train acc %", "wall s"],
              rows,
              "volume: accepted share of uniform guesses (Guess & Check rows), seeds pooled; "
              "train acc: clean training set, mean over reported models; wall s: summed over seeds"),
    ]
