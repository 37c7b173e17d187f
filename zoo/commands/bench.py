"""``zoo bench``: run a manifest, store every cell, print the tables."""

from __future__ import annotations

from rich.markup import escape

from zoo import manifest as manifests
from zoo import cluster, reports, runner, staleness
from zoo.commands.common import add_format, stderr_console, stdout_console, warn_load_errors, warn_stale
from zoo.errors import ZooError
from zoo.executors import EXECUTORS, LocalExecutor, RayExecutor
from zoo.registry import default_registry
from zoo.store import Store

HELP = """Run every cell of a benchmark manifest that the store does not hold yet, then
print the paper-style tables. Finished cells are committed one by one, so an
interrupted run resumes where it stopped when run again."""


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a manifest", description=HELP)
    p.add_argument("manifest", help="the TOML manifest (see README: Manifest)")
    p.add_argument("--dry-run", action="store_true", help="validate and list the cells; run nothing")
    p.add_argument("--only", action="append", metavar="BENCH", help="run only this bench (repeatable)")
    p.add_argument("--store", help="results store path (default: suite.store in the manifest)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), help="override suite.device")
    p.add_argument("--data-root", help="folder with offline datasets (overrides suite.data_root and ZOO_DATA_ROOT)")
    p.add_argument("--rerun", action="store_true", help="run cells again even if the store has them")
    p.add_argument("--max-cells", type=int, default=manifests.MAX_CELLS, metavar="N",
                   help=f"refuse a manifest of more cells than this before expanding it (default {manifests.MAX_CELLS:,})")
    p.add_argument("--rerun-stale", action="store_true",
                   help="run again the stored cells whose plugins changed version since (zoo report flags them)")
    p.add_argument("--executor", choices=tuple(EXECUTORS), default="local",
                   help="local: one cell after another in this process (default); ray: cells as Ray tasks, "
                        "in parallel on this machine or a cluster (pip install 'zoo[distributed]')")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="the Ray cluster to join (e.g. ray://head:10001) for --executor ray and for Guess & Check shards "
                        "with shard_on = \"ray\"; default: RAY_ADDRESS, else start a local one (docs/cluster.md)")
    p.add_argument("--cpus-per-cell", type=int, default=1, metavar="N", help="with --executor ray: cores per cell (default 1)")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="with --executor ray: times a cell whose worker or node died is run again before it is "
                        "reported failed (default 3)")
    add_format(p)
    p.set_defaults(handler=main)


def main(args) -> int:
    err = stderr_console()
    registry = default_registry()
    warn_load_errors(registry, err)
    manifest = manifests.load(args.manifest, registry, store=args.store, device=args.device,
                              data_root=args.data_root, only=args.only, max_cells=args.max_cells)
    if args.dry_run:
        return dry_run(manifest, registry, stdout_console())
    if args.executor == "ray":
        if args.cpus_per_cell < 1:
            raise ZooError(f"--cpus-per-cell must be at least 1, got {args.cpus_per_cell}")
        if args.retries < 0:
            raise ZooError(f"--retries must be at least 0, got {args.retries}")
        executor = RayExecutor(args.ray_address, args.cpus_per_cell, args.retries)
    else:
        if args.ray_address:  # cells run here; their shards join the cluster
            cluster.connect(args.ray_address)
        executor = LocalExecutor()
    store = Store(manifest.store)
    try:
        summary = runner.run(manifest, registry, store, rerun=args.rerun, executor=executor, console=err,
                             rerun_stale=args.rerun_stale)
        err.print(
            f"{summary['done']} cells run, {summary['skipped']} already in {escape(str(manifest.store))}, "
            f"{summary['failed']} failed"
            + (f", {summary['elsewhere']} run by another runner on this store" if summary.get("elsewhere") else "")
            + (" — interrupted, run again to resume" if summary["interrupted"] else "")
        )
        # Report exactly this manifest's cells: the store may also hold cells of an earlier version of it.
        wanted = {cell.id for cell in manifest.cells}
        records = [r for r in store.records([b.name for b in manifest.benches]) if r["id"] in wanted]
        warn_stale(records, registry, err)
        tables = reports.tables_for(records, {b.name: b.report for b in manifest.benches},
                                    {b.name: b.margin for b in manifest.benches})
        reports.render(tables, args.format, stdout_console())
    finally:
        store.close()
    if summary["interrupted"]:
        return 130
    return 1 if summary["failed"] else 0


def dry_run(manifest, registry, console) -> int:
    records = []
    if manifest.store.exists():  # read-only: a dry run never creates or changes a file
        store = Store(manifest.store, create=False)
        try:
            records = store.records([b.name for b in manifest.benches])
        finally:
            store.close()
    done, stale = {r["id"] for r in records}, staleness.stale(records, registry)
    for bench in manifest.benches:
        console.print(f"[bold]{escape(bench.name)}[/] ({len(bench.cells)} cells, report {escape(bench.report)})")
        for axis, varied in bench.varies.items():
            console.print(f"  axis {axis} varies {', '.join(varied)}", markup=False)
        for source in dict.fromkeys(reports.data_text(cell.data) for cell in bench.cells):
            if source:
                console.print(f"  {escape(source)}")
        for cell in bench.cells:
            state = "stale" if cell.id in stale else "done " if cell.id in done else "todo "
            console.print(f"  {cell.id}  {state} {cell.describe()}", markup=False)
    pending = sum(c.id not in done for c in manifest.cells)
    console.print(f"{len(manifest.cells)} cells, {pending} to run; store {escape(str(manifest.store))}; device {manifest.device}")
    return 0
