"""Report layouts and renderers.

A layout turns the stored records of one bench into neutral :class:`Table` s;
renderers print tables as rich tables, Markdown, CSV or JSON. A bench picks
its layout with ``report = "..."`` in the manifest (or ``zoo report --layout``).
A layout is a function ``tables(records: list[dict], margin: float) -> list[Table]``
(records as returned by :meth:`zoo.store.Store.records`, all of one bench;
``margin`` the equivalence margin in percentage points) in a module listed below.

A table value is a plain number or string, or one of the value classes
here: ``str()`` is what people read, ``plain()`` what JSON and CSV carry
(numbers, never rendered text; percentages where the title says %).
"""

from __future__ import annotations

import csv
import importlib
import io
import itertools
import json
import math
import statistics
from dataclasses import dataclass, field

from zoo.statistics import DEFAULT_MARGIN, Comparison, Rate

LAYOUTS = {
    "bins": "zoo.reports.bins",
    "episodes": "zoo.reports.episodes",
    "volume": "zoo.reports.volume",
    "side_by_side": "zoo.reports.side_by_side",
}


@dataclass(frozen=True)
class Stat:
    """A mean ± std over ``count`` values, printed in percent by default."""

    mean: float | None
    std: float | None
    count: int
    scale: float = 100.0
    digits: int = 1

    @classmethod
    def of(cls, values, **kw) -> "Stat":
        values = numbers(values)
        if not values:
            return cls(None, None, 0, **kw)
        return cls(statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0, len(values), **kw)

    def __str__(self) -> str:
        if self.mean is None:
            return f"– ({self.count})"
        d, s = self.digits, self.scale
        return f"{self.mean * s:.{d}f} ± {self.std * s:.{d}f} ({self.count})"

    def plain(self) -> dict:
        scaled = lambda v: None if v is None else v * self.scale  # noqa: E731
        return {"mean": scaled(self.mean), "std": scaled(self.std), "count": self.count}


@dataclass(frozen=True)
class Number:
    """A number printed with a format (``–`` for None); machines get the number."""

    value: float | None
    fmt: str = ",.1f"

    def __str__(self) -> str:
        return "–" if self.value is None else format(self.value, self.fmt)

    def plain(self):
        return self.value


@dataclass(frozen=True)
class Counts:
    """Accepted out of tested, e.g. ``50 / 5,821``."""

    accepted: float
    tested: float

    def __str__(self) -> str:
        return f"{self.accepted:,.0f} / {self.tested:,.0f}" if self.tested else "–"

    def plain(self) -> dict:
        return {"accepted": self.accepted, "tested": self.tested}


def _signed(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"


@dataclass(frozen=True)
class Difference:
    """A − B [95% CI], with ``*`` when the interval excludes zero (see :mod:`zoo.statistics`)."""

    comparison: Comparison
    digits: int = 1

    def __str__(self) -> str:
        c, d = self.comparison, self.digits
        if c.estimate is None:
            return "–"
        if c.low is None:
            return f"{_signed(c.estimate, d)} (no CI: {c.seeds} seed{'s' if c.seeds != 1 else ''})"
        return f"{_signed(c.estimate, d)} [{_signed(c.low, d)}, {_signed(c.high, d)}]{' *' if c.excludes_zero else ''}"

    def plain(self) -> dict:
        c = self.comparison
        return {"estimate": c.estimate, "ci_low": c.low, "ci_high": c.high, "excludes_zero": c.excludes_zero,
                "seeds": c.seeds, "verdict": c.verdict, "margin": c.margin, "tost_low": c.tost_low, "tost_high": c.tost_high}


@dataclass(frozen=True)
class Volume:
    """log10 of a pooled acceptance rate with its 95% interval; ``< x`` when nothing was accepted."""

    rate: Rate

    def __str__(self) -> str:
        r = self.rate
        if not r.tested:
            return "–"
        if not r.accepted:
            return f"< {math.log10(r.high):.2f}"
        return f"{math.log10(r.rate):.2f} [{math.log10(r.low):.2f}, {math.log10(r.high):.2f}]"

    def plain(self) -> dict:
        r = self.rate
        log = lambda p: math.log10(p) if p > 0 else None  # noqa: E731
        return {"log10": log(r.rate) if r.tested else None, "ci_low": log(r.low), "ci_high": log(r.high),
                "accepted": r.accepted, "tested": r.tested, "seeds": r.seeds}


@dataclass(frozen=True)
class EstimatedVolume:
    """log10 of a volume estimated per seed (``volume_ss``) and pooled over seeds, with its 95% interval.

    ``< x`` when an estimator stalled: its levels then only bound the volume.
    """

    log10: float | None
    low: float | None
    high: float | None
    seeds: int

    def __str__(self) -> str:
        if self.log10 is None:
            return "–" if self.high is None else f"< {self.high:.2f}"
        if self.low is None:
            return f"{self.log10:.2f}"
        return f"{self.log10:.2f} [{self.low:.2f}, {self.high:.2f}]"

    def plain(self) -> dict:
        return {"log10": self.log10, "ci_low": self.low, "ci_high": self.high, "seeds": self.seeds}


@dataclass(frozen=True)
class LogRatio:
    """log10(A / B) of two rates with its 95% interval; an open end is written as ∞."""

    estimate: float | None
    low: float | None
    high: float | None

    def __str__(self) -> str:
        if self.estimate is None and self.low is None:
            return "–"
        low = _signed(self.low, 2) if self.low is not None else "−∞"
        high = _signed(self.high, 2) if self.high is not None else "+∞"
        return f"{_signed(self.estimate, 2) if self.estimate is not None else '?'} [{low}, {high}]"

    def plain(self) -> dict:
        return {"estimate": self.estimate, "ci_low": self.low, "ci_high": self.high}


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""
    keys: int = 1  # how many leading columns say what a row stands for


def numbers(values) -> list[float]:
    """The numbers among stored values (a hand-edited or foreign row may hold anything); NaN stays NaN."""
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


def orderable(value):
    """A sort key for any stored value: numbers by value, then strings, then the rest by their text."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, 0.0 if math.isnan(value) else float(value), "nan" if math.isnan(value) else "")
    if isinstance(value, (tuple, list)):
        return (2, 0.0, "", tuple(orderable(v) for v in value))
    return (3, 0.0, str(value))


def axes_key(record: dict) -> tuple:
    """A record's extra axes as a hashable, sortable key; a list- or table-valued axis becomes its JSON text."""
    return tuple(sorted((str(k), v if isinstance(v, (str, int, float, bool)) else json.dumps(v, default=repr))
                        for k, v in record["axes"].items()))


def layout(name: str):
    return importlib.import_module(LAYOUTS[name]).tables


def latest(records: list[dict]) -> tuple[list[dict], int]:
    """Keep, for each matrix point, only the newest record; returns them and how many were dropped.

    A point is (bench, label, n, bin, seed, extra axes). When a manifest's
    parameters change, the old cells stay in the store under new ids; pooling
    them with the new ones would mix two experiments in one mean.
    """
    newest: dict[str, int] = {}
    for i, record in enumerate(records):  # insertion order, so a later record wins
        point = [record["bench"], record["label"], record["n"], record["bin"], record["seed"], record["axes"]]
        newest[json.dumps(point, sort_keys=True, default=repr)] = i
    kept = [records[i] for i in sorted(newest.values())]
    return kept, len(records) - len(kept)


def spread_axes(records: list[dict]) -> list[dict]:
    """Records with every extra axis of their bench: one that lacks an axis stands at each of its values.

    An optimizer axis applies only to the optimizers that have the parameter
    (say ``optimizer.sigma`` for Guess & Check); the others' cells carry no
    value for it. To be compared at every value, such a cell is shown under
    each value the other cells hold (a shallow copy with the axis filled in).
    An optimizer label that has the axis in some cell is never spread.
    """
    names = list(dict.fromkeys(a for r in records for a in r["axes"]))
    values = {a: list(dict.fromkeys(json.dumps(r["axes"][a], sort_keys=True) for r in records if a in r["axes"])) for a in names}
    having = {a: {r["label"] for r in records if a in r["axes"]} for a in names}
    out = []
    for record in records:
        missing = [a for a in names if a not in record["axes"] and record["label"] not in having[a]]
        if not missing:
            out.append(record)
            continue
        for combo in itertools.product(*(values[a] for a in missing)):
            axes = {**record["axes"], **{a: json.loads(v) for a, v in zip(missing, combo)}}
            out.append({**record, "axes": {a: axes[a] for a in names if a in axes}})
    return out


def tables_for(records: list[dict], layouts: dict | None = None, margins: dict | None = None,
               layout_name: str | None = None, margin: float | None = None) -> list[Table]:
    """All tables of all benches in ``records``, bench by bench in first-seen order.

    A bench's layout and equivalence margin come from ``layout_name`` /
    ``margin`` (the command line), else ``layouts`` / ``margins`` (the
    manifest, by bench name), else the layout its newest cell was run with.
    """
    benches: dict[str, list[dict]] = {}
    for record in records:
        benches.setdefault(record["bench"], []).append(record)
    out = []
    for name, group in benches.items():
        group = spread_axes(group)
        chosen = layout_name or (layouts or {}).get(name) or group[-1]["report"]
        bench_margin = margin if margin is not None else (margins or {}).get(name, DEFAULT_MARGIN)
        try:
            tables = layout(chosen)(group, margin=bench_margin)
        except Exception as error:  # a layout that does not fit the stored cells must not hide them
            tables = [cells_table(group, f"the {chosen!r} layout cannot show these cells ({type(error).__name__}: "
                                         f"{error}); each stored cell instead")]
        try:
            source = data_note(group)
        except (AttributeError, TypeError, KeyError):  # a stored provenance of another shape: no note
            source = ""
        for table in tables if source else []:
            table.note = f"{table.note}; {source}" if table.note else source
        out.extend(tables)
    return out


def data_text(data: dict) -> str:
    """One line on where a cell's data came from (its stored provenance, :meth:`zoo.task.Task.provenance`)."""
    if not data:
        return ""
    where = {"embedded": "the MNIST subset embedded in zoo", "torchvision": "torchvision's official files"}.get(data.get("source"))
    if where is None:
        files = data.get("files", "")
        files = ", ".join(files) if isinstance(files, list) else files
        where = f"{data.get('root', '?')} ({files}; sha256 {str(data.get('sha256', ''))[:12]})"
    train = f", training images from the {data['train']}" if data.get("train") else ""
    return f"test set: {data.get('test', '?')}; data: {where}{train}"


def data_note(records: list[dict]) -> str:
    """Which test set and data files a bench's numbers come from (every distinct source, in first-seen order)."""
    texts = dict.fromkeys(data_text(r["spec"].get("data") or {}) for r in records)
    return " | ".join(t for t in texts if t)


def cells_table(records: list[dict], note: str) -> Table:
    """One row per stored cell with its plain test accuracy: a layout's fallback that reads any record."""
    rows = []
    for r in records:
        metrics = r["metrics"] if isinstance(r.get("metrics"), dict) else {}
        values = metrics.get("test_acc_values")
        stat = Stat.of(values if isinstance(values, list) else [])
        axes = ", ".join(f"{k}={v}" for k, v in axes_key(r))
        rows.append([r["label"], r["n"], r["bin"], r["seed"], axes, stat])
    return Table(f"{records[0]['bench']}: stored cells", ["optimizer", "n", "bin", "seed", "axes", "test accuracy %"],
                 rows, note)


def _plain(value):
    """JSON-ready: NaN and infinities become null (JSON has none), odd types their text."""
    if hasattr(value, "plain"):
        return _plain(value.plain())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def to_json(tables: list[Table]) -> str:
    return json.dumps(
        [{"title": t.title, "columns": t.columns, "rows": [[_plain(v) for v in row] for row in t.rows], "note": t.note} for t in tables],
        indent=2, allow_nan=False,
    )


CSV_COLUMNS = ["table", "row", "column", "field", "value"]


def to_csv(tables: list[Table]) -> str:
    """All tables as one tidy CSV: a line per value (per field of a composite value), one header.

    ``row`` names what the row stands for (its key columns, e.g. ``n=4; bin=(0.5, 0.55]``),
    ``field`` the part of a composite value (mean, std, count, estimate, ci_low, ...).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for table in tables:
        for row in table.rows:
            key = "; ".join(f"{col}={value}" for col, value in zip(table.columns[:table.keys], row[:table.keys]))
            for col, value in zip(table.columns[table.keys:], row[table.keys:]):
                value = _plain(value)
                if isinstance(value, dict):
                    for name, part in value.items():
                        writer.writerow([table.title, key, col, name, part])
                else:
                    writer.writerow([table.title, key, col, "", value])
    return buffer.getvalue()


def to_markdown(tables: list[Table]) -> str:
    parts = []
    for table in tables:
        lines = [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.rows]
        if table.note:
            lines += ["", table.note]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def print_rich(tables: list[Table], console) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    # labels, bench names and stored values are shown literally: a "[red]" in a label is text, not markup
    for table in tables:
        rich_table = RichTable(title=Text(table.title), caption=Text(table.note) if table.note else None,
                               title_justify="left")
        for i, col in enumerate(table.columns):
            rich_table.add_column(Text(str(col)), justify="left" if i == 0 else "right", no_wrap=i == 0)
        for row in table.rows:
            rich_table.add_row(*(Text(str(v)) for v in row))
        console.print(rich_table)


FORMATS = ("table", "json", "csv", "markdown")


def render(tables: list[Table], fmt: str, console) -> None:
    """Print ``tables`` in ``fmt``; machine formats go out unstyled on stdout."""
    if fmt == "table":
        print_rich(tables, console)
    else:
        text = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[fmt](tables)
        console.file.write(text if text.endswith("\n") else text + "\n")
        console.file.flush()
