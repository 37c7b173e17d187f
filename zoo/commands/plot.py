"""``zoo plot``: figures from a results store, as PNG and SVG.

The files written go to stderr; tables (the slab rule counts) to stdout in
the chosen format, as with ``zoo report``.
"""

from __future__ import annotations

from pathlib import Path


from zoo import plotting, reports
from zoo.commands.common import add_format, newest_cells, stderr_console, stdout_console, warn_unreadable
from zoo.errors import ZooError
from zoo.reports.bins import group
from zoo.store import Store
from zoo.tasks import slab_rules

MODEL_FIGURES = {"poison_toy": "poison-toy", "slab": "slab"}  # by task; other tasks get "boundaries"


def register(sub) -> None:
    p = sub.add_parser(
        "plot", help="draw figures from a results store (needs matplotlib: pip install 'zoo[plots]')",
        description="Draw figures from a results store: test accuracy and volume against the training-set size, "
                    "and decision boundaries of stored models on the 2-D toys (benches run with keep_params = true).",
    )
    p.add_argument("store", help="the SQLite store written by `zoo bench`")
    p.add_argument("--bench", action="append", metavar="NAME", help="only this bench (repeatable)")
    p.add_argument("--out", metavar="DIR", help="folder for the figures (default: figures/ beside the store)")
    p.add_argument("--kind", action="append", choices=list(plotting.KINDS),
                   help="figure kind (repeatable); default: accuracy, volume, anytime curves (when cells traced them) and the model figure that fits each bench's task")
    p.add_argument("--all", action="store_true",
                   help="use every stored cell, also those superseded by a newer cell at the same matrix point")
    add_format(p)
    p.set_defaults(handler=main)


def default_kinds(records: list[dict]) -> list[str]:
    traced = any(r["metrics"].get("trajectory") for r in records)
    return ["accuracy", "volume", *(["anytime"] if traced else []), MODEL_FIGURES.get(records[0]["task"], "boundaries")]


def main(args) -> int:
    plotting.pyplot()  # before any work: a clear message when matplotlib is missing
    store = Store(args.store, create=False)
    out = Path(args.out) if args.out else Path(args.store).parent / "figures"
    console = stdout_console()
    written = []
    try:
        records = store.records(args.bench)
        warn_unreadable(store)
        if not records:
            raise ZooError(f"{args.store}: no finished cells" + (f" for bench {', '.join(args.bench)}" if args.bench else ""))
        records = newest_cells(records, args.all)
        for rs in group(records, lambda r: r["bench"]).values():
            for kind in args.kind or default_kinds(rs):
                written += plotting.figure_kind(kind)(store, rs, out)
                counts = slab_rules.table(store, rs) if kind == "slab" else None
                if counts:
                    reports.render([counts], args.format, console)
    finally:
        store.close()
    if not written:
        raise ZooError(f"{args.store}: nothing to draw for {', '.join(args.kind or ['any kind'])}; decision boundaries "
                       "need a 2-D task run with keep_params = true in the manifest's [suite] (then `zoo bench --rerun`)")
    paths = stderr_console()
    for path in written:
        paths.print(f"wrote {path}", soft_wrap=True, markup=False)
    return 0
