"""``zoo report``: print the tables of a results store again."""

from __future__ import annotations

from zoo import reports
from zoo.commands.common import add_format, newest_cells, stdout_console, warn_unreadable
from zoo.errors import ZooError
from zoo.store import Store


def register(sub) -> None:
    p = sub.add_parser("report", help="print the tables of a results store",
                       description="Re-print the paper-style tables from a results store, for people or scripts.")
    p.add_argument("store", help="the SQLite store written by `zoo bench`")
    p.add_argument("--bench", action="append", metavar="NAME", help="only this bench (repeatable)")
    p.add_argument("--all", action="store_true",
                   help="pool every stored cell, also those superseded by a newer cell at the same matrix point")
    add_format(p)
    p.set_defaults(handler=main)


def main(args) -> int:
    store = Store(args.store, create=False)
    try:
        records = store.records(args.bench)
        warn_unreadable(store)
    finally:
        store.close()
    if not records:
        raise ZooError(f"{args.store}: no finished cells" + (f" for bench {', '.join(args.bench)}" if args.bench else ""))
    records = newest_cells(records, args.all)
    reports.render(reports.tables_for(records), args.format, stdout_console())
    return 0
