"""The TOML manifest: parse, validate, expand into cells.

Schema (every key optional unless marked)::

    [suite]
    name = "default"              # default: the file's stem
    store = "results/zoo.sqlite"  # relative to the manifest's folder
    device = "auto"               # cpu | cuda | auto
    data_root = "data"            # relative to the manifest's folder
    keep_params = false           # store the reported models' parameters
    equivalence_margin = 3        # points within which two optimizers count as equivalent (TOST)
    checkpoint_seconds = 5        # a long cell saves its progress this often; 0: never
    anytime_test_accuracy = false # the anytime curve's points carry test accuracy too (a test-set pass each)

    [defaults]                    # merged into every bench; the bench's own keys win
    task = {...}  model = {...}  optimizers = [...]  matrix = {...}  report = "bins"

    [[bench]]                     # at least one
    name = "mnist"                # required, unique
    report = "bins"               # report layout (zoo report --layout overrides)
    equivalence_margin = 3        # overrides the suite's for this bench
    anytime_test_accuracy = true  # overrides the suite's for this bench
    budget_evals = 100000         # one cost for every optimizer, in forward evaluations
    task = { name = "mnist", classes = "pair" }       # required
    model = { name = "lenet", width = 0.5 }           # required
    optimizers = [ { name = "guess_check", label = "gc", target = 10 } ]  # required
    [bench.matrix]
    n = [2, 4]                    # required: training-set sizes
    bins = [0.30, 0.35, 0.40]     # loss-bin edges; omit for accuracy-only acceptance
    seeds = [0]                   # default [0]; { from = 0, count = 100 } for 0..99
    "model.width" = [0.5, 1.0]    # any task./model./optimizer. parameter as an axis

The manifest is data only: nothing in it is ever executed. Every problem is
reported as a :class:`~zoo.errors.ManifestError` naming the file, the key
path, the line where it can be found, and the fix.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from zoo.cells import Cell, Component
from zoo.checkpoints import DEFAULT_SECONDS
from zoo.data import set_data_root
from zoo.errors import ManifestError, ZooError
from zoo.registry import Registry, UnknownPlugin, _did_you_mean
from zoo.statistics import DEFAULT_MARGIN

SUITE_KEYS = {"name": str, "store": str, "device": str, "data_root": str, "keep_params": bool,
              "equivalence_margin": float, "checkpoint_seconds": float, "anytime_test_accuracy": bool}
BENCH_KEYS = ("name", "report", "equivalence_margin", "anytime_test_accuracy", "budget_evals", "task", "model",
              "optimizers", "matrix")
DEFAULT_KEYS = ("report", "equivalence_margin", "anytime_test_accuracy", "budget_evals", "task", "model", "optimizers",
                "matrix")
DEVICES = ("auto", "cpu", "cuda")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
AXIS_KINDS = ("task", "model", "optimizer")
MAX_CELLS = 1_000_000  # a larger matrix is refused before it is expanded; --max-cells raises the limit
MAX_DEPTH = 32  # arrays and tables nested deeper than this are no manifest anyone meant to write
SQLITE_INT = 2**63  # integers are stored as SQLite INTEGERs: -2**63 <= i < 2**63


@dataclass
class Bench:
    name: str
    report: str
    cells: list[Cell]
    margin: float = DEFAULT_MARGIN  # equivalence margin in percentage points
    varies: dict = field(default_factory=dict)  # axis -> what it varies, e.g. {"optimizer.sigma": ["G&C"]}


@dataclass
class Manifest:
    path: Path
    name: str
    store: Path
    device: str
    device_key: str | None  # where the device was asked for, for errors: None for --device
    data_root: Path | None
    keep_params: bool
    benches: list[Bench] = field(default_factory=list)
    checkpoint_seconds: float = DEFAULT_SECONDS

    @property
    def cells(self) -> list[Cell]:
        return [cell for bench in self.benches for cell in bench.cells]


class _Checker:
    """Carries the file and its text so every error can name the key and line."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()

    def fail(self, key: str, problem: str, fix: str = "", value=None):
        raise ManifestError(self.path, key, problem, fix, self.line_of(key, value))

    def line_of(self, key: str, value=None) -> int | None:
        """Best-effort line of a key path: where ``value`` is written, else the last segment's key.

        A key under ``bench[i]`` or ``defaults`` is looked for in that table's
        own lines first, so a second bench's mistake names the second bench's line.
        """
        first, last_line = self.section(key)
        numbered = list(enumerate(self.lines, 1))
        ranges = [numbered[first:last_line], numbered] if (first, last_line) != (0, len(self.lines)) else [numbered]
        segments = [s for s in re.split(r"[.\[\]]", key) if s and not s.isdigit()]
        quoted = re.search(r'"([^"]+)"$', key)  # a dotted matrix axis: "model.width"
        last = re.escape(quoted.group(1)) if quoted else re.escape(segments[-1]) if segments else None
        pattern = last and re.compile(rf'^\s*(\[\[?\s*[\w.]*{last}\s*\]\]?|"?{last}"?\s*=)|[{{,]\s*"?{last}"?\s*=')
        for lines in ranges:
            if isinstance(value, str) and value:
                for number, line in lines:
                    if f'"{value}"' in line or f"'{value}'" in line:
                        return number
            if pattern:
                for number, line in lines:
                    if pattern.search(line):
                        return number
        return None

    def section(self, key: str) -> tuple[int, int]:
        """The slice of lines (0-based, end exclusive) that holds ``bench[i]`` or ``defaults``; else the whole file."""
        headers = [i for i, line in enumerate(self.lines) if re.match(r"^\s*\[", line)]
        match = re.match(r"bench\[(\d+)\]", key)
        if match:
            benches = [i for i in headers if re.match(r"^\s*\[\[\s*bench\s*\]\]", self.lines[i])]
            index = int(match.group(1))
            if index < len(benches):
                start = benches[index]
                end = benches[index + 1] if index + 1 < len(benches) else len(self.lines)
                return start, end
        elif key.startswith("defaults"):
            starts = [i for i in headers if re.match(r"^\s*\[\s*defaults", self.lines[i])]
            if starts:
                following = [i for i in headers if i > starts[0] and not re.match(r"^\s*\[\s*defaults", self.lines[i])]
                return starts[0], following[0] if following else len(self.lines)
        return 0, len(self.lines)

    def table(self, value, key: str, allowed) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {_kind(value)}", f"write it as [{key}] or {key} = {{ ... }}")
        for name in value:
            if name not in allowed:
                self.fail(f"{key}.{name}", f"unknown key{_did_you_mean(name, allowed)}", f"allowed keys: {', '.join(allowed)}")
        return value

    def list_of(self, value, key: str, kind, what: str, nonempty: bool = True) -> list:
        if not isinstance(value, list):
            self.fail(key, f"expected a list of {what}, got {_kind(value)}", f"write e.g. {key} = [ ... ]")
        if nonempty and not value:
            self.fail(key, "is empty, so the matrix has no cells", f"give at least one {what[:-1] if what.endswith('s') else what}")
        for i, item in enumerate(value):
            if not _is(item, kind):
                self.fail(f"{key}[{i}]", f"expected {what}, got {_kind(item)} {item!r}")
        if len(set(map(repr, value))) != len(value):
            self.fail(key, f"has repeated values {value}", "list each value once")
        return value


def _is(value, kind) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind(value) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def load(path, registry: Registry, store: str | None = None, device: str | None = None,
         data_root: str | None = None, only: list[str] | None = None, max_cells: int = MAX_CELLS) -> Manifest:
    """Read, validate and expand a manifest; command-line overrides win over the file.

    A matrix of more than ``max_cells`` cells is refused before it is expanded.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ManifestError(path, "", "no such file", "check the path") from None
    except UnicodeDecodeError:
        store = path.open("rb").read(16) == b"SQLite format 3\x00"
        raise ManifestError(path, "", "is not a TOML manifest (not UTF-8 text)" + (": it is an SQLite file" if store else ""),
                            "print a store's tables with `zoo report STORE`" if store else "pass the manifest's path") from None
    except OSError as error:
        raise ManifestError(path, "", f"cannot be read ({error})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        raise ManifestError(path, "", f"is not valid TOML: {error}", "fix the syntax at that position",
                            int(line.group(1)) if line else None) from None
    except RecursionError:
        raise ManifestError(path, "", f"nests arrays or tables too deeply to read",
                            f"no manifest needs more than {MAX_DEPTH} levels") from None
    expander = _Expander(path, text, registry, max_cells)
    expander.check_values(raw)
    try:
        return expander.manifest(raw, store, device, data_root, only)
    except RecursionError:  # a plugin's check on a nested value: still the manifest's shape
        raise ManifestError(path, "", "nests values too deeply", f"no manifest needs more than {MAX_DEPTH} levels") from None


class _Expander(_Checker):
    def __init__(self, path: Path, text: str, registry: Registry, max_cells: int = MAX_CELLS):
        super().__init__(path, text)
        self.registry, self.max_cells, self.total = registry, max_cells, 0

    def check_values(self, raw) -> None:
        """Every value, before any meaning is given to it: finite numbers, integers SQLite can store, no NUL
        characters in strings, no absurd nesting. Walked with a stack: deep input cannot exhaust recursion."""
        stack = [("", raw, 0)]
        while stack:
            key, value, depth = stack.pop()
            if depth > MAX_DEPTH:
                self.fail(key, f"nests arrays or tables more than {MAX_DEPTH} deep", "flatten it")
            if isinstance(value, dict):
                stack.extend((f"{key}.{k}" if key else str(k), v, depth + 1) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((f"{key}[{i}]", v, depth + 1) for i, v in enumerate(value))
            elif isinstance(value, float) and not math.isfinite(value):
                self.fail(key, f"is {value}, not a finite number", "give a finite value")
            elif isinstance(value, int) and not isinstance(value, bool) and not -SQLITE_INT <= value < SQLITE_INT:
                self.fail(key, f"{value} is beyond the integer range a store can hold (±2^63)", "give a smaller value")
            elif isinstance(value, str) and "\x00" in value:
                self.fail(key, "contains a NUL character", "remove it")

    def manifest(self, raw, store, device, data_root, only) -> Manifest:
        self.table(raw, "(top level)", ("suite", "defaults", "bench"))
        suite = self.table(raw.get("suite", {}), "suite", tuple(SUITE_KEYS))
        for key, kind in SUITE_KEYS.items():
            if key in suite and not _is(suite[key], kind):
                self.fail(f"suite.{key}", f"expected {_kind(kind())}, got {_kind(suite[key])}")
        if not 0 < suite.get("equivalence_margin", DEFAULT_MARGIN) < 100:
            self.fail("suite.equivalence_margin", f"expected percentage points between 0 and 100, got {suite['equivalence_margin']!r}",
                      "e.g. equivalence_margin = 3")
        seconds = suite.get("checkpoint_seconds", DEFAULT_SECONDS)
        if not 0 <= seconds <= 86_400:
            self.fail("suite.checkpoint_seconds", f"expected seconds between 0 (no checkpoints) and 86400, got {seconds!r}",
                      f"e.g. checkpoint_seconds = {DEFAULT_SECONDS:g}")
        flag, device = device, device or suite.get("device", "auto")
        if device not in DEVICES:
            self.fail("suite.device", f"unknown device {device!r}", f"use one of {', '.join(DEVICES)}")
        base = self.path.resolve().parent
        root = data_root if data_root is not None else suite.get("data_root")
        name = suite.get("name", self.path.stem)
        manifest = Manifest(
            path=self.path,
            name=name,
            store=Path(store) if store else (base / suite.get("store", f"results/{self.path.stem}.sqlite")).resolve(),
            device=device,
            device_key=None if flag else f"{self.path}:{self.line_of('suite.device') or 1}: suite.device",
            data_root=(Path(root) if data_root is not None else (base / root).resolve()) if root else None,
            keep_params=suite.get("keep_params", False),
            checkpoint_seconds=float(seconds),
        )
        if manifest.data_root is not None:
            if not manifest.data_root.is_dir():
                if data_root is not None:
                    raise ZooError(f"--data-root {data_root}: no such folder; pass the folder that holds the datasets")
                self.fail("suite.data_root", f"{manifest.data_root} is not a folder",
                          "fix the path (relative to the manifest), override it with --data-root, "
                          "or remove the key to use ZOO_DATA_ROOT or the embedded MNIST")
            set_data_root(manifest.data_root)  # before the benches: checking them builds the tasks
        elif os.environ.get("ZOO_DATA_ROOT") and not Path(os.environ["ZOO_DATA_ROOT"]).expanduser().is_dir():
            raise ZooError(f"ZOO_DATA_ROOT={os.environ['ZOO_DATA_ROOT']}: no such folder; set it to the folder that "
                           "holds the datasets, or unset it to use the embedded MNIST")
        self.check_store_path(manifest.store, store)
        defaults = self.table(raw.get("defaults", {}), "defaults", DEFAULT_KEYS)
        for key in DEFAULT_KEYS:
            if key in defaults and key in ("task", "model", "matrix") and not isinstance(defaults[key], dict):
                self.fail(f"defaults.{key}", f"expected a table, got {_kind(defaults[key])}", f"write it as {key} = {{ ... }}")
        benches = raw.get("bench")
        if benches is None:
            self.fail("bench", "the manifest declares no bench", "add at least one [[bench]] table")
        if not isinstance(benches, list) or not all(isinstance(b, dict) for b in benches):
            self.fail("bench", "expected an array of tables", "write each bench as [[bench]]")
        seen = set()
        for i, bench in enumerate(benches):
            key = f"bench[{i}]"
            self.table(bench, key, BENCH_KEYS)
            bench_name = bench.get("name")
            if not isinstance(bench_name, str) or not NAME_RE.match(bench_name):
                self.fail(f"{key}.name", "missing or not a plain name" if bench_name is None else f"{bench_name!r} is not a plain name",
                          "give each bench a name of letters, digits, '-', '_' or '.'")
            if bench_name in seen:
                self.fail(f"{key}.name", f"bench name {bench_name!r} is used twice", "give each bench its own name")
            seen.add(bench_name)
            merged = {"equivalence_margin": suite.get("equivalence_margin", DEFAULT_MARGIN),
                      "anytime_test_accuracy": suite.get("anytime_test_accuracy", False), **defaults, **bench}
            if "matrix" in defaults and "matrix" in bench:
                self.table(bench["matrix"], f"{key}.matrix", _MatrixKeys())
                merged["matrix"] = {**defaults["matrix"], **bench["matrix"]}
            manifest.benches.append(self.bench(manifest.name, bench_name, merged, f"bench[{i}]"))
        if only:
            unknown = [b for b in only if b not in seen]
            if unknown:
                raise ManifestError(self.path, "--only", f"no bench named {unknown[0]!r}{_did_you_mean(unknown[0], seen)}",
                                    f"benches in this manifest: {', '.join(sorted(seen))}")
            manifest.benches = [b for b in manifest.benches if b.name in only]
        return manifest

    def component(self, kind: str, value, key: str):
        if not isinstance(value, dict):
            self.fail(key, f"expected a table with at least a name, got {_kind(value)}" if value is not None else "is missing",
                      f'write e.g. {key.rsplit(".", 1)[-1]} = {{ name = "..." }}')
        name = value.get("name")
        if not isinstance(name, str):
            self.fail(f"{key}.name", "missing", f"name a registered {kind}; see `zoo list`")
        try:
            spec = self.registry.get(kind, name)
        except UnknownPlugin as error:
            self.fail(f"{key}.name", str(error), "see `zoo list` for what is installed", value=name)
        params = {k: v for k, v in value.items() if k not in ("name", "label")}
        for param, problem in spec.check_params(params) + value_problems(spec, params):
            self.fail(f"{key}.{param}", problem)
        label = value.get("label", "")
        if not isinstance(label, str):
            self.fail(f"{key}.label", f"expected a string, got {_kind(label)}", 'write e.g. label = "G&C"')
        return spec, params, label

    def bench(self, suite: str, name: str, bench: dict, key: str) -> Bench:
        from zoo.reports import LAYOUTS

        report = bench.get("report", "bins")
        if not isinstance(report, str):
            self.fail(f"{key}.report", f"expected a string, got {_kind(report)}", f"use one of {', '.join(sorted(LAYOUTS))}")
        if report not in LAYOUTS:
            self.fail(f"{key}.report", f"unknown report layout {report!r}{_did_you_mean(str(report), LAYOUTS)}",
                      f"use one of {', '.join(sorted(LAYOUTS))}")
        margin = bench["equivalence_margin"]
        if not _is(margin, float) or not 0 < margin < 100:
            self.fail(f"{key}.equivalence_margin", f"expected a number of percentage points between 0 and 100, got {margin!r}",
                      "e.g. equivalence_margin = 3")
        traced_test = bench["anytime_test_accuracy"]
        if not isinstance(traced_test, bool):
            self.fail(f"{key}.anytime_test_accuracy", f"expected true or false, got {_kind(traced_test)}",
                      "e.g. anytime_test_accuracy = true")
        task = self.component("task", bench.get("task"), f"{key}.task")
        model = self.component("model", bench.get("model"), f"{key}.model")
        optimizers = bench.get("optimizers")
        if not isinstance(optimizers, list) or not optimizers:
            self.fail(f"{key}.optimizers", "missing or empty", 'list at least one, e.g. optimizers = [ { name = "guess_check" } ]')
        opts, labels = [], set()
        for j, value in enumerate(optimizers):
            spec, params, label = self.component("optimizer", value, f"{key}.optimizers[{j}]")
            shown = label or spec.name
            if shown in labels:
                self.fail(f"{key}.optimizers[{j}]", f"two optimizers are both called {shown!r}", "give one of them a distinct label = \"...\"")
            labels.add(shown)
            opts.append((spec, params, label))
        budget = self.budget(bench.get("budget_evals"), key, opts)
        mkey = f"{key}.matrix"
        if bench.get("matrix") is None:
            self.fail(mkey, "is missing", f"add [{mkey.split('[')[0]}.matrix] with at least n = [...]")
        matrix = self.table(bench["matrix"], mkey, _MatrixKeys())
        if "n" not in matrix:
            self.fail(f"{mkey}.n", "is missing", "list the training-set sizes, e.g. n = [2, 4]")
        sizes = self.list_of(matrix["n"], f"{mkey}.n", int, "positive integers")
        if any(s < 1 for s in sizes):
            self.fail(f"{mkey}.n", f"training-set sizes must be >= 1, got {sizes}")
        seeds = self.list_of(self.seed_range(matrix.get("seeds", [0]), f"{mkey}.seeds"), f"{mkey}.seeds", int,
                             "non-negative integers")
        if any(s < 0 for s in seeds):
            self.fail(f"{mkey}.seeds", f"seeds must be >= 0, got {seeds}")
        bins = self.bins(matrix.get("bins"), f"{mkey}.bins")
        axes = self.axes(matrix, mkey, task, model, opts)
        varies = {axis: [f"{kind} {entry[0].name}" if kind != "optimizer" else entry[2] or entry[0].name
                         for entry in ([task] if kind == "task" else [model] if kind == "model" else opts)
                         if param in entry[0].params]
                  for axis in axes for kind, _, param in [axis.partition(".")]}
        per_optimizer = [math.prod(len(v) for a, v in axes.items() if a.startswith("optimizer.") and label in varies[a])
                         for label in (entry[2] or entry[0].name for entry in opts)]
        shared = math.prod(len(v) for a, v in axes.items() if not a.startswith("optimizer."))
        cells = sum(per_optimizer) * shared * len(sizes) * len(bins) * len(seeds)  # as expand() makes them
        self.count(cells, mkey)
        self.total += cells
        cells = self.expand(suite, name, report, task, model, opts, sizes, bins, seeds, axes, key, budget)
        if traced_test:
            cells = [replace(cell, anytime_test_accuracy=True) for cell in cells]
        return Bench(name, report, cells, float(margin), varies)

    def budget(self, value, key, opts) -> int | None:
        """``budget_evals``: a positive integer, and every optimizer of the bench must know how to spend it."""
        if value is None:
            return None
        if not _is(value, int) or value < 1:
            self.fail(f"{key}.budget_evals", f"expected a positive integer of forward evaluations, got {value!r}",
                      "e.g. budget_evals = 100000")
        for j, (spec, _, label) in enumerate(opts):
            if spec.eval_budget is None:
                self.fail(f"{key}.budget_evals", f"optimizer {label or spec.name!r} ({spec.name}) cannot map a budget in "
                          "forward evaluations to its own parameters", "give each optimizer its own budget and remove budget_evals")
        return value

    def seed_range(self, seeds, key):
        """``{ from = 0, count = 100 }`` stands for the seeds 0..99; a list passes through."""
        if not isinstance(seeds, dict):
            return seeds
        self.table(seeds, key, ("from", "count"))
        start, count = seeds.get("from", 0), seeds.get("count")
        if not _is(start, int) or not _is(count, int) or count < 1:
            self.fail(key, f"expected from = <integer> and count = <positive integer>, got {seeds}",
                      "write e.g. seeds = { from = 0, count = 100 }")
        if start < 0 or start + count > SQLITE_INT:
            self.fail(key, f"seeds {start}..{start + count - 1} leave the range 0..2^63-1", "start at 0 or above, with a smaller count")
        self.count(count, key)  # before the list is made: a billion seeds must not fill memory
        return list(range(start, start + count))

    def count(self, cells: int, key: str) -> None:
        """Refuse a matrix larger than the limit before expanding it."""
        if self.total + cells > self.max_cells:
            self.fail(key, f"the matrix has {self.total + cells:,} cells or more, over the limit of {self.max_cells:,}",
                      "shrink the matrix, split the manifest, or raise the limit with --max-cells N")

    def check_store_path(self, path: Path, given: str | None) -> None:
        """A store must be a file in a folder: a path under a file or at a folder is refused now, not at the first write."""
        key = "--store" if given else "suite.store"
        if path.is_dir():
            self.fail(key, f"{path} is a folder", "name a file, e.g. results/NAME.sqlite")
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            self.fail(key, f"{path} lies under {parent}, which is a file, not a folder", "choose another store path")

    def bins(self, edges, key):
        if edges is None:
            return [None]
        edges = self.list_of(edges, key, float, "numbers (loss-bin edges)")
        if len(edges) < 2:
            self.fail(key, f"needs at least two edges to make one bin, got {edges}", "e.g. bins = [0.30, 0.35]")
        if any(e < 0 for e in edges):
            self.fail(key, f"loss-bin edges must be >= 0, got {edges}", "the normalized loss is never negative")
        if any(b <= a for a, b in zip(edges, edges[1:])):
            self.fail(key, f"edges must increase strictly, got {edges}", "sort them and remove repeats")
        return [(float(a), float(b)) for a, b in zip(edges, edges[1:])]

    def axes(self, matrix, mkey, task, model, opts) -> dict:
        specs = {"task": [task], "model": [model], "optimizer": opts}
        axes = {}
        for axis, values in matrix.items():
            if axis in ("n", "seeds", "bins"):
                continue
            kind, _, param = axis.partition(".")
            values = self.list_of(values, f"{mkey}.{axis}", object, "values")
            owners = [p for p in specs[kind] if param in p[0].params]
            if not owners:
                self.fail(f'{mkey}."{axis}"', f"no {kind} of this bench has a parameter {param!r}", "see `zoo list` for parameters")
            for spec, params, _ in owners:
                if param in params:
                    self.fail(f'{mkey}."{axis}"', f"{param!r} is set both here and in the {kind} table",
                              "remove it from one of the two places")
                for value in values:
                    for p, problem in spec.check_params({param: value}) + value_problems(spec, {param: value}):
                        self.fail(f'{mkey}."{axis}"', f"value {value!r}: {problem}")
            axes[axis] = values
        return axes

    def expand(self, suite, name, report, task, model, opts, sizes, bins, seeds, axes, key, budget=None) -> list[Cell]:
        """The cross product; an optimizer axis crosses only the optimizers that have that parameter.

        An optimizer without the parameter gets one cell per point of the other
        axes, not one per value of this one (those would be the same cell).
        With a ``budget``, each optimizer's own budget parameters are set from it.
        """
        cells = []
        shared = {a: v for a, v in axes.items() if not a.startswith("optimizer.")}
        for combo in itertools.product(*shared.values()) if shared else [()]:
            chosen = dict(zip(shared, combo))
            over = {kind: {a.partition(".")[2]: v for a, v in chosen.items() if a.startswith(kind + ".")} for kind in AXIS_KINDS}
            task_c = self.resolve(task, over["task"])
            model_c = self.resolve(model, over["model"])
            data = self.check_build(task_c, model_c, sizes, key)
            for j, opt in enumerate(opts):
                own = {a: v for a, v in axes.items() if a.startswith("optimizer.") and a.partition(".")[2] in opt[0].params}
                for opt_combo in itertools.product(*own.values()) if own else [()]:
                    mine = {**chosen, **dict(zip(own, opt_combo))}
                    mine = {a: mine[a] for a in axes if a in mine}  # the manifest's axis order
                    opt_c = self.resolve(opt, {a.partition(".")[2]: v for a, v in mine.items() if a in own})
                    if budget is not None:
                        opt_c = self.spend(opt, opt_c, budget, set(own), f"{key}.optimizers[{j}]")
                    try:
                        opt[0].build(**opt_c.params)
                    except (ValueError, TypeError) as error:
                        self.fail(f"{key}.optimizers[{j}]", f"{opt_c.name}: {error}")
                    for n, loss_bin, seed in itertools.product(sizes, bins, seeds):
                        cells.append(Cell(suite, name, report, task_c, model_c, opt_c, n, loss_bin, seed, mine, data))
        return cells

    def spend(self, entry, component, budget, axes, key) -> Component:
        """The optimizer's parameters with its budget keys set from ``budget_evals``; a key also set by hand is refused."""
        spec, params, label = entry
        try:
            spent = dict(spec.eval_budget(budget, dict(component.params)))
            checked = spec.resolve(spent)  # the mapping's values pass the same checks as a manifest's
        except Exception as error:  # a plugin's mapping is foreign code: name it, never crash
            self.fail(key, f"{spec.name}: its mapping of budget_evals = {budget} failed ({type(error).__name__}: {error})")
        for k in spent:
            if k in params or f"optimizer.{k}" in axes:
                self.fail(key, f"{k!r} is set both by hand and by the bench's budget_evals",
                          f"remove {k} from this optimizer or remove budget_evals")
        return Component(spec.name, {**component.params, **{k: checked[k] for k in spent}}, label)

    @staticmethod
    def resolve(entry, overrides) -> Component:
        spec, params, label = entry
        return Component(spec.name, spec.resolve({**params, **overrides}), label, spec.outside_streams)

    def check_build(self, task_c, model_c, sizes, key) -> dict:
        """Build the task and the model once so that bad combinations fail before anything runs; the task's provenance."""
        task_spec, model_spec = self.registry.get("task", task_c.name), self.registry.get("model", model_c.name)
        try:
            task = task_spec.build(**task_c.params)
        except (ValueError, TypeError) as error:
            self.fail(f"{key}.task", str(error))
        try:
            model_spec.build(input_shape=task.input_shape, num_classes=task.num_classes, **model_c.params)
        except (ValueError, TypeError) as error:
            self.fail(f"{key}.model", f"{model_c.name} cannot take {task_c.name}'s inputs {task.input_shape}: {error}")
        small = [n for n in sizes if n < task.num_classes]
        if small:
            self.fail(f"{key}.matrix.n", f"n = {small[0]} is fewer than the task's {task.num_classes} classes",
                      f"use n >= {task.num_classes}")
        try:
            return task.provenance()
        except (OSError, ZooError) as error:
            self.fail(f"{key}.task", f"{task_c.name}: {error}", "point --data-root (or suite.data_root) at the dataset")


def value_problems(spec, given: dict) -> list[tuple[str, str]]:
    """Values, not only types: a number where the plugin's default is >= 0 (a rate, radius, size, count) may not be
    negative, and a float whose default is positive (a rate, radius, width, step) must be positive. A parameter
    with explicitly declared ``types`` is left to its plugin."""
    problems = []
    for key, value in given.items():
        default = spec.params.get(key)
        if key in spec.types or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            continue
        if default >= 0 and value < 0:
            problems.append((key, f"must be >= 0, got {value}"))
        elif isinstance(default, float) and default > 0 and value <= 0:
            problems.append((key, f"must be > 0, got {value} (default {default})"))
    return problems


class _MatrixKeys(tuple):
    """Allowed matrix keys: n, bins, seeds, and any dotted task./model./optimizer. axis."""

    def __new__(cls):
        return super().__new__(cls, ("n", "bins", "seeds", "task.<param>", "model.<param>", "optimizer.<param>"))

    def __contains__(self, key):
        kind, dot, param = str(key).partition(".")
        return key in ("n", "bins", "seeds") or (dot and kind in AXIS_KINDS and bool(param))
