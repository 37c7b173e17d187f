"""``zoo bench``: run a manifest, store every cell, print the tables."""

from __future__ import annotations

from rich.markup import escape

from zoo import manifest as manifests
from zoo import cluster, reports, runner, staleness
from zoo.commands.common import add_format, stderr_console, stdout_console, warn_load_errors, warn_stale
from zoo.environment import resolve_device
from zoo.errors import ZooError
from zoo.executors import EXECUTORS, LocalExecutor, RayExecutor
from zoo.registry import default_registry
from zoo.reports import costs
from zoo.speed.estimate import DEFAULT_GPU_TFLOPS, GUESSERS, estimate
from zoo.store import Store

HELP = """Run every cell of a benchmark manifest that the store does not hold yet, then
print the paper-style tables. Finished cells are committed one by one, so an
interrupted run resumes where it stopped when run again."""


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a manifest", description=HELP)
    p.add_argument("manifest", help="the TOML manifest (see README: Manifest)")
    p.add_argument("--dry-run", action="store_true", help="validate and list the cells; run nothing")
    p.add_argument("--estimate", action="store_true",
                   help="with --dry-run: the guesses and time each Guess & Check entry needs here, on one GPU and on "
                        "--gpus GPUs, from the store's acceptance rates and throughput or a short pilot (docs/cost.md)")
    p.add_argument("--pilot-seconds", type=float, default=2.0, metavar="S",
                   help="with --estimate: seconds of each entry's own search when the store has none of its cells "
                        "(default 2; 0: store only)")
    p.add_argument("--gpus", type=int, default=64, metavar="N", help="with --estimate: the many-GPU column (default 64)")
    p.add_argument("--gpu-tflops", type=float, default=DEFAULT_GPU_TFLOPS, metavar="T",
                   help=f"with --estimate: sustained TFLOP/s of one GPU on a guess's forward pass (default "
                        f"{DEFAULT_GPU_TFLOPS:g}, an assumption; see docs/cost.md to measure yours)")
    p.add_argument("--horizon-days", type=float, default=costs.DEFAULT_HORIZON / 86_400, metavar="D",
                   help=f"with --estimate: an entry is within reach when done within D days (default {costs.DEFAULT_HORIZON / 86_400:g})")
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
    p.add_argument("--checkpoint-seconds", type=float, metavar="S",
                   help="a long cell saves its progress to the store at most every S seconds and a killed run "
                        "continues from it (default: suite.checkpoint_seconds, else 5; 0: never)")
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
    if args.checkpoint_seconds is not None and not 0 <= args.checkpoint_seconds <= 86_400:
        raise ZooError(f"--checkpoint-seconds must be between 0 (no checkpoints) and 86400, got {args.checkpoint_seconds:g}")
    if args.estimate and not args.dry_run:
        raise ZooError("--estimate goes with --dry-run: zoo bench MANIFEST --dry-run --estimate")
    if args.estimate:
        if args.gpus < 1 or not args.gpu_tflops > 0 or not args.horizon_days > 0 or not args.pilot_seconds >= 0:
            raise ZooError("--estimate needs --gpus >= 1, --gpu-tflops > 0, --horizon-days > 0 and --pilot-seconds >= 0")
        return estimate_costs(manifest, registry, args, stdout_console(), err)
    if args.dry_run:
        return dry_run(manifest, registry, stdout_console())
    resolve_device(manifest.device, manifest.device_key)  # a device that is not here: refused before Ray or the store starts
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
                             rerun_stale=args.rerun_stale, checkpoint_seconds=args.checkpoint_seconds)
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


def estimate_costs(manifest, registry, args, console, err) -> int:
    """``--dry-run --estimate``: the cost model's tables (:mod:`zoo.speed.estimate`); runs nothing, writes nothing."""
    records = []
    if manifest.store.exists():
        store = Store(manifest.store, create=False)
        try:
            records = store.records([b.name for b in manifest.benches])
        finally:
            store.close()
    device = resolve_device(manifest.device, manifest.device_key)
    found = estimate(manifest.cells, registry, records, args.pilot_seconds, device,
                     progress=lambda text: err.print(f"pilot: {text}", markup=False))
    tables = costs.tables(found, args.gpus, args.gpu_tflops, args.horizon_days * 86_400)
    others = sum(cell.optimizer.name not in GUESSERS for cell in manifest.cells)
    reports.render(tables, args.format, console)
    if others:
        err.print(f"{others} cells of other optimizers have no estimate (the cost model prices Guess & Check)")
    return 0


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
