"""``zoo report``: print the tables of a results store (or of a manifest's store) again."""

from __future__ import annotations

from pathlib import Path

from zoo import reports
from zoo.commands.common import add_format, newest_cells, stderr_console, stdout_console, stored_records, warn_stale
from zoo.errors import ZooError
from zoo.registry import default_registry


def register(sub) -> None:
    p = sub.add_parser("report", help="print the tables of a results store",
                       description="Re-print the paper-style tables from a results store, for people or scripts. "
                                   "Given a manifest instead, report its cells from its store with its layouts "
                                   "and equivalence margins.")
    p.add_argument("store", help="the SQLite store written by `zoo bench`, or the TOML manifest that wrote it")
    p.add_argument("--bench", action="append", metavar="NAME", help="only this bench (repeatable)")
    p.add_argument("--all", action="store_true",
                   help="pool every stored cell, also those superseded by a newer cell at the same matrix point")
    p.add_argument("--layout", choices=sorted(reports.LAYOUTS),
                   help="report layout for every bench (default: the manifest's report = ..., "
                        "else the layout the newest cell was run with)")
    p.add_argument("--margin", type=float, metavar="POINTS",
                   help="equivalence margin in percentage points (default: the manifest's equivalence_margin, else 3)")
    add_format(p)
    p.set_defaults(handler=main)


def main(args) -> int:
    if args.margin is not None and not 0 < args.margin < 100:
        raise ZooError(f"--margin must be between 0 and 100 percentage points, got {args.margin:g}")
    layouts = margins = wanted = None
    path = args.store
    if Path(path).suffix == ".toml":
        from zoo import manifest as manifests

        manifest = manifests.load(path, default_registry(), only=args.bench)
        path = manifest.store
        layouts = {b.name: b.report for b in manifest.benches}
        margins = {b.name: b.margin for b in manifest.benches}
        wanted = {cell.id for cell in manifest.cells}
    records = stored_records(path, args.bench)
    if wanted is not None:
        records = [r for r in records if r["id"] in wanted]
        if not records:
            raise ZooError(f"{path}: none of the manifest's cells is stored yet; run `zoo bench {args.store}`")
    records = newest_cells(records, args.all)
    warn_stale(records, default_registry(), stderr_console())
    tables = reports.tables_for(records, layouts, margins, args.layout, args.margin)
    reports.render(tables, args.format, stdout_console())
    return 0
