"""Two stores side by side: the same matrix points, their accuracies, A − B with its interval.

A matrix point is (bench, optimizer label, n, loss bin, extra axes); its
cells in A and B are paired by data seed, as in the difference tables of a
single store (:mod:`zoo.reports.differences`). Guess & Check rows also give
log10(rate A / rate B) of the acceptance rates, paired by seed.
"""

from __future__ import annotations

from zoo.reports import Difference, Number, Stat, Table, axes_key, orderable
from zoo.reports.bins import bin_name, group
from zoo.reports.differences import NOTE, compare, pooled_models
from zoo.reports.volume import VOLUME_OPTIMIZERS, ratio


def point(record: dict) -> tuple:
    return record["label"], record["n"], tuple(record["bin"]) if record["bin"] else None, axes_key(record)


def compare_tables(a: list[dict], b: list[dict], margin: float, names: tuple[str, str] = ("A", "B")) -> list[Table]:
    """One table per bench that both hold, a row per shared matrix point."""
    out = []
    a_benches, b_benches = group(a, lambda r: r["bench"]), group(b, lambda r: r["bench"])
    for bench, a_records in a_benches.items():
        if bench not in b_benches:
            continue
        a_points, b_points = group(a_records, point), group(b_benches[bench], point)
        shared = sorted(set(a_points) & set(b_points),
                        key=lambda p: (orderable(p[3]), orderable(p[0]), orderable(p[1]), p[2] is not None, orderable(p[2])))
        rows = []
        for p in shared:
            ra, rb = a_points[p], b_points[p]
            stat = lambda rs: Stat.of(v for r in rs for v in r["metrics"]["test_acc_values"])  # noqa: E731
            comparison = compare(ra, rb, pooled_models, margin)
            guesses = all(r["optimizer"] in VOLUME_OPTIMIZERS for r in ra + rb)
            axes = ", ".join(f"{k}={v}" for k, v in p[3])
            rows.append([p[0], p[1], bin_name(p[2]), axes, stat(ra), stat(rb), Difference(comparison),
                         comparison.seeds, comparison.verdict, ratio(ra, rb) if guesses else Number(None)])
        if not rows:
            continue
        a_name, b_name = names
        columns = ["optimizer", "n", "bin", "axes", f"{a_name} test acc %", f"{b_name} test acc %",
                   "difference [95% CI]", "seeds", f"equivalence ±{margin:g}", f"log10 rate {a_name}/{b_name} [95% CI]"]
        note = NOTE.format(margin=margin).replace("first minus second", f"{a_name} minus {b_name}")
        keep = [i for i in range(len(columns)) if not (i == 3 and not any(row[3] for row in rows))
                and not (i == 9 and all(isinstance(row[9], Number) for row in rows))]  # no axes, no Guess & Check
        if 9 in keep:
            note += f"; log10 rate {a_name}/{b_name}: Guess & Check acceptance rates, paired by seed"
        out.append(Table(f"{bench}: {a_name} − {b_name}, test accuracy % by matrix point", [columns[i] for i in keep],
                         [[row[i] for i in keep] for row in rows], note, keys=4 if 3 in keep else 3))
    return out

