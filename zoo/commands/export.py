"""``zoo export``: a store's cells (or reported models) as a tidy CSV, JSON Lines or Parquet table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from zoo import export
from zoo.commands.common import newest_cells, stored_records
from zoo.errors import ZooError

FORMATS = ("csv", "jsonl", "parquet")


def register(sub) -> None:
    p = sub.add_parser("export", help="write a store's cells as a tidy table (CSV, JSON Lines, Parquet)",
                       description="One row per cell (or, with --models, per reported model) with every parameter, "
                                   "axis, counter, metric and environment field as a column; schema in docs/export.md. "
                                   "Load it with pandas.read_csv(PATH) or pandas.read_json(PATH, lines=True).")
    p.add_argument("store", help="the SQLite store written by `zoo bench`")
    p.add_argument("--models", action="store_true", help="one row per reported model instead of one per cell")
    p.add_argument("--format", choices=FORMATS, default="csv", help="csv (default), jsonl, or parquet (needs pyarrow)")
    p.add_argument("--out", metavar="PATH", help="file to write (default: standard output; parquet needs a file)")
    p.add_argument("--bench", action="append", metavar="NAME", help="only this bench (repeatable)")
    p.add_argument("--all", action="store_true",
                   help="every stored cell, also those superseded by a newer cell at the same matrix point")
    p.set_defaults(handler=main)


def main(args) -> int:
    if args.format == "parquet":
        if importlib.util.find_spec("pyarrow") is None:
            raise ZooError("--format parquet needs pyarrow, which is not installed (pip install pyarrow); "
                           "use --format csv or jsonl")
        if not args.out:
            raise ZooError("--format parquet writes a binary file: give it with --out PATH")
    records = stored_records(args.store, args.bench)
    names, rows = export.tidy(newest_cells(records, args.all), models=args.models)
    if args.format == "parquet":
        try:
            export.write_parquet(names, rows, args.out)
        except OSError as error:
            raise ZooError(f"--out {args.out}: cannot be written ({error})") from None
        return 0
    text = export.to_csv(names, rows) if args.format == "csv" else export.to_jsonl(names, rows)
    if not args.out:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text)
    except OSError as error:
        raise ZooError(f"--out {args.out}: cannot be written ({error})") from None
    return 0
