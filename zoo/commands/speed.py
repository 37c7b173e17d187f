"""``zoo speed``: Guess & Check throughput, reference engine and fast engine side by side.

``zoo speed --load`` instead times cells of the default suite on idle cores
and beside two busy-looping processes, alternating, and prints the ratio
(:mod:`zoo.speed.contention`). ``zoo speed --shards`` measures a sharded search on
a local Ray cluster of one-core nodes: one worker, then all of them,
alternating, and their ratio. ``zoo speed --search`` times pattern search
and random greedy search rounds of the reference design and of zoo on Table
4's setting (:mod:`zoo.speed.search_rate`); ``zoo speed --sgd`` times SGD steps of a
LeNet-0.5 population, the reference design against zoo, on Tables 2 and 3's
setting (:mod:`zoo.speed.sgd_rate`). ``zoo speed --targets`` runs Guess & Check,
both searches, SGD and the load measurement in one go and prints each figure
against the target it is held to.

Both engines search the same parameter stream of guesses (LeNet on two-class
MNIST or CIFAR-10, or the toys' MLP on the kink points) with the same
acceptance rule (100% train accuracy and normalized loss in the bin). Measurements alternate between the
engines, so both see the same load on a shared machine; each engine's best
round counts, and the ratio is fast / reference.
"""

from __future__ import annotations

import json
import os
import statistics
from argparse import Namespace

import torch
from rich.table import Table

from zoo.cluster import local_cluster
from zoo.commands.common import stdout_console
from zoo.data import set_data_root
from zoo.errors import ZooError
from zoo.guessing import native
from zoo.models.lenet import LeNet
from zoo.models.mlp import MLP
from zoo.registry import default_registry
from zoo.speed import sgd_rate
from zoo.speed.contention import DEFAULT_SUITE_OPTIMIZERS, contention, default_suite_cell, fair_share_ratio
from zoo.speed.guess_rate import ShardedThroughput, Throughput
from zoo.speed.search_rate import BUDGETS, SEARCHES, side_by_side
from zoo.tasks.cifar10 import CIFAR10
from zoo.tasks.mnist import MNIST
from zoo.tasks.toys import Toy2D, sample_kink

# (column, engine, generator): the baseline draws with torch's generator, as the reference implementation does.
SETUPS = (("reference", "reference", "torch"), ("fast, torch RNG", "fast", "torch"), ("fast", "fast", "philox"))


def register(sub) -> None:
    p = sub.add_parser("speed", help="guesses/s of the reference and the fast Guess & Check, side by side",
                       description="Measure Guess & Check guesses per second of the reference engine (every guess on "
                                   "all n samples) and the fast engine (early rejection) in one run, and their ratio.")
    p.add_argument("--n", type=int, nargs="+", help="training-set sizes (default: 2 16; with --search 100 1000)")
    p.add_argument("--task", choices=("mnist", "cifar10", "kink"), nargs="+",
                   help="data: two-class MNIST or CIFAR-10 (3x32x32), or the toys' 2-D kink points (default: mnist; "
                        "with --search ten-class mnist cifar10; with --sgd two-class mnist cifar10)")
    p.add_argument("--model", choices=("lenet", "mlp"), default="lenet",
                   help="Guess & Check model: LeNet of --width or the toys' MLP of --hidden units (default lenet; kink "
                        "takes the MLP)")
    p.add_argument("--width", type=float, default=0.5, help="LeNet width (default 0.5; --search uses LeNet-1)")
    p.add_argument("--hidden", type=int, default=20, help="hidden units of the MLP (default 20)")
    p.add_argument("--bin", type=float, nargs=2, default=(0.30, 0.35), metavar=("LO", "HI"),
                   help="loss bin (LO, HI] of the acceptance rule (default 0.30 0.35)")
    p.add_argument("--seconds", type=float, default=3.0, help="length of one measurement (default 3)")
    p.add_argument("--rounds", type=int, default=3, help="measurements per engine, alternating; the best counts (default 3)")
    p.add_argument("--seed", type=int, default=0, help="data seed and parameter-stream seed (default 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the engines run (default cpu)")
    p.add_argument("--data-root", help="folder with offline MNIST and CIFAR-10 (default: ZOO_DATA_ROOT; MNIST: else the embedded subset)")
    p.add_argument("--load", action="store_true",
                   help="instead: the default suite's SGD and G&C cells (n = 2, bin (0.50, 0.55], seed 0) idle and beside "
                        "two busy-looping processes, and the ratio of their times")
    p.add_argument("--shards", action="store_true",
                   help="instead: guesses/s of a sharded search (fast engine, the first --n) on a local Ray cluster of "
                        "--workers one-core nodes, with one range at a time and with one per worker, and their ratio")
    p.add_argument("--workers", type=int, default=2, help="with --shards: nodes of one core each (default 2)")
    p.add_argument("--search", action="store_true",
                   help="instead: rounds/s of pattern search and random greedy search, the reference design (point and "
                        "candidates all on all n samples in one batched pass) against zoo, same moves, Table 4's setting")
    p.add_argument("--optimizer", choices=tuple(SEARCHES), nargs="+", default=list(SEARCHES),
                   help="with --search: which searches (default both)")
    p.add_argument("--sgd", action="store_true",
                   help="instead: SGD steps/s and epochs/s of a LeNet-0.5 population (Tables 2 and 3: batch min(n/2, 2), "
                        "bin steering), the reference design (grouped layers, autograd) against zoo with autograd and "
                        "zoo's default, the same steps of the same round")
    p.add_argument("--models", type=int, default=256,
                   help="with --sgd: models in the population (default 256; the reference trains 3000 // batch)")
    p.add_argument("--targets", action="store_true",
                   help="instead: every figure above in one run (G&C at n = 16, both searches at n = 100 and 1,000 on "
                        "mnist and cifar10, SGD at n = 2 and 16 on both, the default suite under load), each against "
                        "its target; --n, --task and --width are set by the mode (about 20 minutes on two cores at the defaults)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=main)


def setting(task: str, n: int, args):
    """The problem and model that Guess & Check is measured on."""
    if task == "kink":
        problem = Toy2D(sample_kink, 0.25).sample(n, args.seed)
        return problem, MLP(problem.input_shape, 2, hidden=args.hidden)
    problem = (MNIST() if task == "mnist" else CIFAR10()).sample(n, args.seed)
    if args.model == "mlp":
        return problem, MLP(problem.input_shape, 2, hidden=args.hidden)
    return problem, LeNet(problem.input_shape, problem.num_classes, width=args.width)


def tensor_device(name: str) -> torch.device:
    """The one place where ``--device`` becomes the device the engines' tensors live on."""
    return torch.device(name)


def with_peak(args, measure):
    """``measure()`` and, with ``--device cuda``, the most GPU memory torch held during it (else None)."""
    if args.device != "cuda":
        return measure(), None
    torch.cuda.reset_peak_memory_stats()
    result = measure()
    return result, torch.cuda.max_memory_allocated()


def synchronizer(args):
    """What waits for the device's queued work before a clock is read: CUDA runs asynchronously."""
    return torch.cuda.synchronize if args.device == "cuda" else None


def measure(task: str, n: int, args) -> dict:
    problem, model = setting(task, n, args)
    device = tensor_device(args.device)
    engines = {name: Throughput(engine, model, problem, tuple(args.bin), args.seed, device, generator)
               for name, engine, generator in SETUPS}
    guesses = {name: max(1, int(engine.warm_up() * args.seconds)) for name, engine in engines.items()}
    rounds = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, engine in engines.items():
            rounds[name].append(engine.run(guesses[name]))
    best = {name: max(rate.per_second for rate in values) for name, values in rounds.items()}
    return {
        "task": task,
        "model": f"LeNet-{args.width:g}" if isinstance(model, LeNet) else f"MLP-{args.hidden}",
        "n": n,
        "best": best,
        "ratio": best["fast"] / best["reference"],
        "ratio_torch_rng": best["fast, torch RNG"] / best["reference"],
        "rounds": {name: [rate.per_second for rate in values] for name, values in rounds.items()},
        "cpu_us_per_guess": {name: statistics.median(rate.cpu_us for rate in values) for name, values in rounds.items()},
    }


def main(args) -> int:
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ZooError("--device cuda: no CUDA device is available here; use --device cpu")
    args.n = args.n or ([100, 1000] if args.search else [2, 16])
    args.task = args.task or (["mnist", "cifar10"] if args.search or args.sgd else ["mnist"])
    if args.search and "kink" in args.task:
        raise ZooError("zoo speed --search measures Table 4's LeNet-1 on mnist or cifar10; --task kink is for Guess & Check")
    if args.sgd and "kink" in args.task:
        raise ZooError("zoo speed --sgd measures Tables 2 and 3's LeNet-0.5 on mnist or cifar10; --task kink is for Guess & Check")
    if args.models < 1:
        raise ZooError(f"--models must be at least 1, got {args.models}")
    if min(args.n) < 2 or args.seconds <= 0 or args.rounds < 1 or not args.bin[0] < args.bin[1]:
        raise ZooError("zoo speed needs every --n >= 2 (two classes), --seconds > 0, --rounds >= 1 and --bin LO < HI")
    modes = [f"--{mode}" for mode in ("load", "shards", "search", "sgd", "targets") if getattr(args, mode)]
    if len(modes) > 1:
        raise ZooError(f"zoo speed measures one thing at a time: give one of {', '.join(modes)} (--targets runs them all)")
    if args.data_root:
        set_data_root(args.data_root)
    if args.load:
        return under_load(args)
    if args.shards:
        if args.workers < 2:
            raise ZooError(f"--workers must be at least 2 (one worker is the baseline), got {args.workers}")
        return across_workers(args)
    if args.targets:
        return against_targets(args)
    if args.search:
        return report(args, search_results(args), print_search)
    if args.sgd:
        return report(args, sgd_results(args), print_sgd)
    return report(args, guess_check_results(args), print_guess_check)


# What the speed work is held to, each measured side by side against the reference design in one run.
GUESS_CHECK_TARGET = 150_000  # guesses/s at n = 16, LeNet-0.5 on two-class MNIST, two cores
SEARCH_TARGET = 50.0  # rounds/s, zoo over the reference design, Table 4's setting (pattern search)
# Random greedy search moves every parameter of every candidate: each needs its whole forward pass in either design,
# so an exact search cannot beat the reference design's round (docs/speed.md); zoo must only not be slower.
RANDOM_GREEDY_LIMIT = 0.9
SGD_TARGET = 3.0  # epochs/s, zoo over the reference design, Tables 2 and 3's setting
LOAD_LIMIT = 10.0  # a cell beside two busy loops: never an order of magnitude slower than idle


def against_targets(args) -> int:
    """Every side-by-side figure of ``zoo speed``'s modes in one run, and whether each meets its target."""
    sections = {
        "guess_check": guess_check_results(Namespace(**{**vars(args), "task": ["mnist"], "n": [16], "model": "lenet",
                                                        "width": 0.5})),
        "search": search_results(Namespace(**{**vars(args), "search": True, "task": ["mnist", "cifar10"],
                                              "n": [100, 1000]})),
        "sgd": sgd_results(Namespace(**{**vars(args), "sgd": True, "task": ["mnist", "cifar10"], "n": [2, 16]})),
        "load": load_results(args),
    }
    rows = target_rows(sections)
    if args.format == "json":
        print(json.dumps({"device": args.device, "threads": torch.get_num_threads(), "cores": os.cpu_count(),
                          "targets": rows, **sections}, indent=2))
    else:
        console = stdout_console()
        for name, show in (("guess_check", print_guess_check), ("search", print_search), ("sgd", print_sgd),
                           ("load", print_load)):
            show(console, Namespace(**{**vars(args), "search": name == "search", "sgd": name == "sgd"}), sections[name])
        table = Table(title="Targets", title_justify="left")
        for column in ("measurement", "measured", "target", "met"):
            table.add_column(column, justify="right" if column != "measurement" else "left")
        for row in rows:
            table.add_row(row["measurement"], row["measured"], row["target"], "yes" if row["met"] else "NO")
        console.print(table)
    return 0


def target_rows(sections: dict) -> list[dict]:
    """One row per figure: what was measured, its target and whether it is met (numbers kept for scripts)."""
    rows = []
    for r in sections["guess_check"]:
        rows.append({"measurement": f"Guess & Check, {r['task']} n={r['n']}, {r['model']}: fast engine",
                     "value": r["best"]["fast"], "limit": GUESS_CHECK_TARGET, "met": r["best"]["fast"] >= GUESS_CHECK_TARGET,
                     "measured": f"{r['best']['fast']:,.0f} guesses/s ({r['ratio']:.1f}x the reference)",
                     "target": f">= {GUESS_CHECK_TARGET:,} guesses/s"})
    for r in sections["search"]:
        greedy = r["optimizer"] == "random_greedy"
        limit = RANDOM_GREEDY_LIMIT if greedy else SEARCH_TARGET
        rows.append({"measurement": f"{r['optimizer']}, {r['task']} n={r['n']}, LeNet-1: zoo / reference design",
                     "value": r["ratio"], "limit": limit, "met": r["ratio"] >= limit, "measured": f"{r['ratio']:.1f}x",
                     "target": f">= {limit:g}x" + (" (an exact search's limit is 1x)" if greedy else "")})
    for r in sections["sgd"]:
        ratio = r["ratio"]["fast"]
        rows.append({"measurement": f"SGD population, {r['task']} n={r['n']}, LeNet-0.5: zoo / reference design",
                     "value": ratio, "limit": SGD_TARGET, "met": ratio >= SGD_TARGET,
                     "measured": f"{ratio:.1f}x", "target": f">= {SGD_TARGET:g}x"})
    for r in sections["load"]:
        rows.append({"measurement": f"default suite {DEFAULT_SUITE_OPTIMIZERS[r['optimizer']][0]} cell: loaded / idle",
                     "value": r["ratio"], "limit": LOAD_LIMIT, "met": r["ratio"] < LOAD_LIMIT,
                     "measured": f"{r['ratio']:.1f}x (fair share {fair_share():.1f}x)", "target": f"< {LOAD_LIMIT:g}x"})
    return rows


def report(args, results: list[dict], show) -> int:
    """One measurement's results as JSON (with the run's setting) or as ``show``'s tables."""
    if args.format == "json":
        print(json.dumps({**setting_of(args), "results": results}, indent=2))
    else:
        show(stdout_console(), args, results)
    return 0


def setting_of(args) -> dict:
    """What every JSON report says about where it was measured."""
    extra = {"bin": list(args.bin), "compiled_kernels": native.philox_fill() is not None} if not (args.search or args.sgd) else {}
    return {**extra, "device": args.device, "threads": torch.get_num_threads(), "peak_gpu_bytes": peak_gpu_bytes(args)}


def guess_check_results(args) -> list[dict]:
    results = []
    for task in args.task:
        for n in args.n:
            result, peak = with_peak(args, lambda: measure(task, n, args))
            results.append({**result, "peak_gpu_bytes": peak})
    return results


def print_guess_check(console, args, results: list[dict]) -> None:
    table = Table(title=f"Guess & Check guesses/s: two-class tasks, U[-1,1], bin ({args.bin[0]}, {args.bin[1]}], "
                        f"{args.device}, {torch.get_num_threads()} threads", title_justify="left")
    names = [name for name, _, _ in SETUPS]
    for column in ["task", "model", "n", *names, "fast / reference", "(torch RNG)", *peak_column(args)]:
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(r["task"], r["model"], str(r["n"]), *(f"{r['best'][name]:,.0f}" for name in names),
                      f"{r['ratio']:.1f}x", f"{r['ratio_torch_rng']:.1f}x", *peak_cell(args, r))
    console.print(table)
    print_peak(console, args)
    kernels = "compiled C kernels" if native.philox_fill() else "torch operations (no C compiler: slower)"
    console.print(f"fast engine on {kernels}; every round, guesses/s (the best counts), and the median CPU time per "
                  "guess over all threads:")
    for r in results:
        for name in names:
            rounds = " ".join(f"{v:,.0f}" for v in r["rounds"][name])
            console.print(f"  {r['task']:7} n={r['n']:<3} {name:16} {rounds:28} {r['cpu_us_per_guess'][name]:8.1f} CPU µs/guess")


def peak_gpu_bytes(args) -> int | None:
    """The most GPU memory torch held at once during the measurements (None on the CPU)."""
    return torch.cuda.max_memory_allocated() if args.device == "cuda" else None


def peak_column(args) -> list[str]:
    return ["peak GPU MiB"] if args.device == "cuda" else []


def peak_cell(args, result) -> list[str]:
    return [f"{result['peak_gpu_bytes'] / 2**20:,.0f}"] if args.device == "cuda" else []


def print_peak(console, args) -> None:
    if args.device == "cuda":
        console.print(f"peak GPU memory: {peak_gpu_bytes(args) / 2**20:,.0f} MiB", markup=False)


def search_results(args) -> list[dict]:
    """Rounds/s of each search on each task and n, the reference design and zoo side by side."""
    results = []
    for optimizer in args.optimizer:
        for task in args.task:
            for n in args.n:
                problem = (MNIST("all") if task == "mnist" else CIFAR10("all")).sample(n, args.seed)
                model = LeNet(problem.input_shape, 10, width=1.0)
                measured, peak = with_peak(args, lambda: side_by_side(
                    optimizer, model, problem, BUDGETS[optimizer, task], args.seconds, args.rounds, args.seed,
                    tensor_device(args.device)))
                results.append({"task": task, **measured, "peak_gpu_bytes": peak})
    return results


def print_search(console, args, results: list[dict]) -> None:
    table = Table(title=f"Local search rounds/s: ten-class tasks, LeNet-1, U[-1,1], the reference's candidates per "
                        f"round, {args.device}, {torch.get_num_threads()} threads", title_justify="left")
    for column in ("search", "task", "n", "candidates", "reference design", "zoo", "zoo / reference", *peak_column(args)):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(r["optimizer"], r["task"], str(r["n"]), str(r["candidates"]), f"{r['best']['reference']:,.2f}",
                      f"{r['best']['fast']:,.1f}", f"{r['ratio']:.1f}x", *peak_cell(args, r))
    console.print(table)
    print_peak(console, args)
    console.print(f"both engines run the same search from the same point (same moves), each for about {args.seconds:g} s; "
                  f"best of {args.rounds} alternating measurements; every measurement in rounds/s, the steps taken, and "
                  "the least CPU time per round:")
    for r in results:
        for name in ("reference", "fast"):
            rates = " ".join(f"{v:,.2f}" for v in r["per_second"][name])
            console.print(f"  {r['optimizer']:14} {r['task']:7} n={r['n']:<4} {name:9} {r['rounds'][name]:5} rounds  {rates:30} "
                          f"steps {r['steps'][name]}  {r['cpu_ms_per_round'][name]:8.1f} CPU ms/round")


SGD_COLUMNS = (("reference", "reference design"), ("autograd", "zoo, autograd"), ("fast", "zoo"))


def sgd_results(args) -> list[dict]:
    """SGD epochs/s of each engine on each task and n, side by side, and zoo's ratios to the reference design."""
    results = []
    for task in args.task:
        for n in args.n:
            problem = (MNIST() if task == "mnist" else CIFAR10()).sample(n, args.seed)
            model = LeNet(problem.input_shape, 2, width=0.5)
            lr, loss_bin = sgd_rate.SETTINGS[task]
            measured, peak = with_peak(args, lambda: sgd_rate.side_by_side(
                model, problem, args.models, lr, loss_bin, args.seconds, args.rounds, args.seed,
                tensor_device(args.device), synchronize=synchronizer(args)))
            results.append({"task": task, "lr": lr, "bin": list(loss_bin), **measured, "peak_gpu_bytes": peak})
    return results


def print_sgd(console, args, results: list[dict]) -> None:
    table = Table(title=f"SGD epochs/s: two-class tasks, LeNet-0.5, {args.models} models, U[-1,1], batch min(n/2, 2), "
                        f"the lowest bin's steering, {args.device}, {torch.get_num_threads()} threads", title_justify="left")
    for column in ("task", "n", "steps/epoch", *(label for _, label in SGD_COLUMNS), "zoo / reference", "(autograd)",
                   *peak_column(args)):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(r["task"], str(r["n"]), str(r["steps_per_epoch"]),
                      *(f"{r['epochs_per_second'][name]:,.3f}" for name, _ in SGD_COLUMNS),
                      f"{r['ratio']['fast']:.1f}x", f"{r['ratio']['autograd']:.1f}x", *peak_cell(args, r))
    console.print(table)
    print_peak(console, args)
    console.print(f"every engine trains the same round from the same models for the same steps (the slowest engine's "
                  f"about {args.seconds:g} s); best of {args.rounds} alternating measurements; every measurement in "
                  "steps/s, and the least CPU time per step:")
    for r in results:
        for name, label in SGD_COLUMNS:
            rates = " ".join(f"{v:,.2f}" for v in r["per_second"][name])
            console.print(f"  {r['task']:7} n={r['n']:<3} {label:16} {r['steps']:4} steps  {rates:30} "
                          f"{r['cpu_ms_per_step'][name]:9.1f} CPU ms/step", markup=False, soft_wrap=True)


BUSY = 2  # busy-looping processes beside the cell


def under_load(args) -> int:
    """Each default-suite cell: best idle and best loaded wall time over ``--rounds`` alternating runs, and their ratio."""
    results = load_results(args)
    if args.format == "json":
        print(json.dumps({"busy": BUSY, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
                          "omp_wait_policy": wait_policy(), "results": results}, indent=2))
    else:
        print_load(stdout_console(), args, results)
    return 0


def wait_policy() -> str:
    return os.environ.get("OMP_WAIT_POLICY", "unset")


def load_results(args) -> list[dict]:
    registry = default_registry()
    results = []
    for optimizer in DEFAULT_SUITE_OPTIMIZERS:
        measured = contention(default_suite_cell(optimizer, registry), registry, BUSY, args.rounds)
        results.append({"optimizer": optimizer, "idle_s": measured.idle, "loaded_s": measured.loaded,
                        "ratio": measured.ratio})
    return results


def print_load(console, args, results: list[dict]) -> None:
    table = Table(title=f"Default suite cells (two-class MNIST, LeNet-0.5, n = 2, bin (0.50, 0.55], seed 0) idle and "
                        f"beside {BUSY} busy-looping processes: {os.cpu_count()} cores, {torch.get_num_threads()} torch "
                        f"threads, OMP_WAIT_POLICY {wait_policy()}", title_justify="left")
    for column in ("cell", "idle s", "loaded s", "loaded / idle"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(DEFAULT_SUITE_OPTIMIZERS[r["optimizer"]][0], f"{min(r['idle_s']):.2f}", f"{min(r['loaded_s']):.2f}",
                      f"{r['ratio']:.1f}x")
    console.print(table)
    console.print(f"best of {args.rounds} alternating rounds each; other jobs on the machine load both columns alike. "
                  f"A cell that got its fair share of the cores, and no less, would take about {fair_share():.1f}x as long.")


def fair_share() -> float:
    return fair_share_ratio(torch.get_num_threads(), os.cpu_count() or 1, BUSY)


def across_workers(args) -> int:
    """One worker, then ``--workers``, alternating, on a local cluster of one-core nodes; threads of this process alike.

    The threads show what the machine gives at the moment: on a machine that
    other jobs load, neither can scale further. The best round counts.
    """
    problem = MNIST().sample(args.n[0], args.seed)
    model = LeNet(problem.input_shape, problem.num_classes, width=args.width)
    with local_cluster(args.workers, cpus=1):
        places = {on: ShardedThroughput(model, problem, tuple(args.bin), args.seed, on) for on in ("ray", "threads")}
        for place in places.values():  # warm-up: the workers start, import zoo and build their judges
            place.rate(1 << 14, 1)
            place.rate(1 << 14, args.workers)
        guesses = max(1 << 14, int(places["ray"].rate(1 << 16, 1) * args.seconds))
        rounds = {(on, parallel): [] for on in places for parallel in (1, args.workers)}
        for _ in range(args.rounds):
            for on, parallel in rounds:  # alternating, so that all see the same load on a shared machine
                rounds[on, parallel].append(places[on].rate(guesses * parallel, parallel))
    best = {key: max(values) for key, values in rounds.items()}
    ratio = {on: best[on, args.workers] / best[on, 1] for on in places}
    if args.format == "json":
        print(json.dumps({"n": args.n[0], "width": args.width, "bin": list(args.bin), "workers": args.workers,
                          "cores": os.cpu_count(), "ratio": ratio,
                          "best": {f"{on} {parallel}": v for (on, parallel), v in best.items()},
                          "rounds": {f"{on} {parallel}": v for (on, parallel), v in rounds.items()}}, indent=2))
        return 0
    table = Table(title=f"Sharded Guess & Check guesses/s: Ray workers of a local cluster of {args.workers} one-core nodes, "
                        f"and threads of this process; LeNet width {args.width}, two-class MNIST n = {args.n[0]}, "
                        f"bin ({args.bin[0]}, {args.bin[1]}], fast engine, {os.cpu_count()} cores", title_justify="left")
    for column in ("where", "workers", "guesses/s (best)", "every round", f"{args.workers} / 1"):
        table.add_column(column, justify="right")
    for (on, parallel), values in rounds.items():
        table.add_row(on if parallel == 1 else "", str(parallel), f"{best[on, parallel]:,.0f}",
                      " ".join(f"{v:,.0f}" for v in values), f"{ratio[on]:.2f}x" if parallel == args.workers else "")
    console = stdout_console()
    console.print(table)
    console.print(f"best of {args.rounds} alternating rounds each, four ranges per worker; other jobs on the machine "
                  "slow every row alike, and the threads' ratio shows how far the machine lets any search scale now.")
    return 0
