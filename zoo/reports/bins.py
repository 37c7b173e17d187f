"""The paper's layout: rows = training samples, columns = loss bins.

Each value pools the accepted models of every seed of that (n, bin):
mean test accuracy ± std (number of models). A difference table follows for
every further optimizer of the bench: first optimizer minus that one, per
(n, bin), with its 95% confidence interval over seeds and the equivalence verdict.
"""

from __future__ import annotations

from zoo.reports import Stat, Table, axes_key, orderable
from zoo.reports.differences import difference_tables, pooled_models
from zoo.statistics import DEFAULT_MARGIN


def bin_name(loss_bin) -> str:
    if loss_bin is None:
        return "accuracy only"
    return "(" + ", ".join(f"{e:g}" if isinstance(e, (int, float)) else str(e) for e in loss_bin) + "]"  # a NULL edge: None


def grid(records: list[dict]) -> dict:
    """``{(n, bin): [test accuracies pooled over seeds]}``."""
    cells: dict = {}
    for r in records:
        key = (r["n"], tuple(r["bin"]) if r["bin"] else None)
        cells.setdefault(key, []).extend(r["metrics"]["test_acc_values"])
    return cells


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
            rows = [[n] + [Stat.of(values.get((n, b), [])) for b in bins] for n in sizes]
            out.append(Table(f"{bench}: {label} test accuracy % ({where})", columns, rows,
                             "mean ± std over accepted models (count), all seeds pooled"))
        cells = group(by_axes, lambda r: ((r["n"], tuple(r["bin"]) if r["bin"] else None), r["label"]))
        keys = [(n, b) for n in sizes for b in bins]
        out += difference_tables(bench, "test accuracy", where, ["n", "bin"], keys, lambda k: [k[0], bin_name(k[1])],
                                 cells, list(grids), pooled_models, margin)
    return out
