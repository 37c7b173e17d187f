"""``zoo compare``: the same matrix points of two stores side by side, with differences and their intervals."""

from __future__ import annotations

from zoo import reports
from zoo.commands.common import add_format, newest_cells, stdout_console, stored_records
from zoo.errors import ZooError
from zoo.reports.compare import compare_tables
from zoo.statistics import DEFAULT_MARGIN


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare the same matrix points of two stores",
                       description="Line up the cells of two stores (two commits, machines or plugin versions) by "
                                   "bench, optimizer label, n, loss bin, axes and seed, and print for each matrix point "
                                   "the test accuracy of A and B and A − B with a 95% interval from a paired bootstrap "
                                   "over seeds, plus, where both count guesses, the log10 acceptance rate ratio.")
    p.add_argument("store_a", metavar="STORE_A", help="the first store (A)")
    p.add_argument("store_b", metavar="STORE_B", help="the second store (B)")
    p.add_argument("--bench", action="append", metavar="NAME", help="only this bench (repeatable)")
    p.add_argument("--margin", type=float, default=DEFAULT_MARGIN, metavar="POINTS",
                   help=f"equivalence margin in percentage points (default {DEFAULT_MARGIN:g})")
    add_format(p)
    p.set_defaults(handler=main)


def _records(path, benches):
    return newest_cells(stored_records(path, benches), False)


def main(args) -> int:
    if not 0 < args.margin < 100:
        raise ZooError(f"--margin must be between 0 and 100 percentage points, got {args.margin:g}")
    a, b = _records(args.store_a, args.bench), _records(args.store_b, args.bench)
    tables = compare_tables(a, b, args.margin)
    if not tables:
        raise ZooError(f"{args.store_a} and {args.store_b} share no matrix point (bench, optimizer label, n, bin, axes)")
    reports.render(tables, args.format, stdout_console())
    return 0
