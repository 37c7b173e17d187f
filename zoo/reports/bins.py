"""The paper's layout: rows = training samples, columns = loss bins.

Each value pools the accepted models of every seed of that (n, bin):
mean test accuracy ± std (number of models). An entry whose cells found fewer
models than their optimizer's ``target`` asked for is shown as unfilled ("k of
K"), with its tries and the bound on the accepted share in the table's note
(:mod:`zoo.reports.budget`), not as a mean. A difference table follows for
every further optimizer of the bench: first optimizer minus that one, per
(n, bin), with its 95% confidence interval over seeds and the equivalence
verdict; it pairs only seeds whose cells both filled their target, so an
unfilled cell is not averaged there either.
"""

from __future__ import annotations

from zoo.reports import Stat, Table, axes_key, orderable
from zoo.reports.budget import shortfall
from zoo.reports.differences import difference_tables, pooled_models
from zoo.statistics import DEFAULT_MARGIN


def bin_name(loss_bin) -> str:
    if loss_bin is None:
        return "accuracy only"
    return "(" + ", ".join(f"{e:g}" if isinstance(e, (int, float)) else str(e) for e in loss_bin) + "]"  # a NULL edge: None


def point(record: dict) -> tuple:
    """A record's table entry: ``(n, bin)``."""
    return record["n"], tuple(record["bin"]) if record["bin"] else None


def grid(records: list[dict]) -> dict:
    """``{(n, bin): [test accuracies pooled over seeds]}``."""
    cells: dict = {}
    for r in records:
        cells.setdefault(point(r), []).extend(r["metrics"]["test_acc_values"])
    return cells


def filled_models(record: dict) -> tuple[float, int]:
    """:func:`~zoo.reports.differences.pooled_models` of a cell that filled its target; nothing for one that did not."""
    return (0.0, 0) if shortfall([record]) else pooled_models(record)


def unfilled(records: list[dict]) -> dict:
    """``{(n, bin): Shortfall}`` for the entries whose cells found fewer models than they asked for."""
    short = {key: shortfall(rs) for key, rs in group(records, point).items()}
    return {key: s for key, s in short.items() if s is not None}


def unfilled_note(short: dict, values: dict) -> str:
    parts = []
    for (n, b), s in short.items():
        found = f"; their test accuracy {Stat.of(values.get((n, b), []))}" if s.found else ""
        parts.append(f"n={n} {bin_name(b)}: {s.found} of {s.asked} models after {s.tested:,} tried, {s.share_text()}{found}")
    return "unfilled (the budget ran out; not averaged): " + "; ".join(parts)


def group(records, key) -> dict:
    out: dict = {}
    for r in records:
        out.setdefault(key(r), []).append(r)
    return out


def axes_text(axes: tuple) -> str:
    return "".join(f", {k}={v}" for k, v in axes)


def tables(records: list[dict], margin: float = DEFAULT_MARGIN) -> list[Table]:
    out = []
    bench = records[0]["bench"]
    first = records[0]
    for axes, by_axes in group(records, axes_key).items():
        by_label = group(by_axes, lambda r: r["label"])
        sizes = sorted({r["n"] for r in by_axes}, key=orderable)
        bins = sorted({tuple(r["bin"]) if r["bin"] else None for r in by_axes}, key=lambda b: (b is not None, orderable(b)))
        columns = ["n"] + [bin_name(b) for b in bins]
        grids = {label: grid(rs) for label, rs in by_label.items()}
        where = f"{first['task']}, {first['model']}{axes_text(axes)}"
        for label, values in grids.items():
            short = unfilled(by_label[label])
            rows = [[n] + [f"{short[(n, b)].found} of {short[(n, b)].asked} (unfilled)" if (n, b) in short
                           else Stat.of(values.get((n, b), [])) for b in bins] for n in sizes]
            note = "mean ± std over accepted models (count), all seeds pooled"
            out.append(Table(f"{bench}: {label} test accuracy % ({where})", columns, rows,
                             f"{note}; {unfilled_note(short, values)}" if short else note))
        cells = group(by_axes, lambda r: ((r["n"], tuple(r["bin"]) if r["bin"] else None), r["label"]))
        keys = [(n, b) for n in sizes for b in bins]
        differences = difference_tables(bench, "test accuracy", where, ["n", "bin"], keys,
                                        lambda k: [k[0], bin_name(k[1])], cells, list(grids), filled_models, margin)
        for table in differences:
            table.note += "; a seed counts only where both cells filled their target"
        out += differences
    return out
