"""Report layouts and renderers.

A layout turns the stored records of one bench into neutral :class:`Table` s;
renderers print tables as rich tables, Markdown, CSV or JSON. A bench picks
its layout with ``report = "..."`` in the manifest. A layout is a function
``tables(records: list[dict]) -> list[Table]`` (records as returned by
:meth:`zoo.store.Store.records`, all of one bench) in a module listed below.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import statistics
from dataclasses import dataclass, field

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

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "count": self.count}


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""


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


def tables_for(records: list[dict]) -> list[Table]:
    """All tables of all benches in ``records``, bench by bench in first-seen order."""
    benches: dict[str, list[dict]] = {}
    for record in records:
        benches.setdefault(record["bench"], []).append(record)
    out = []
    for group in benches.values():
        report = group[-1]["report"]
        try:
            tables = layout(report)(group)
        except Exception as error:  # a layout that does not fit the stored cells must not hide them
            tables = [cells_table(group, f"the {report!r} layout cannot show these cells ({type(error).__name__}: "
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
    if isinstance(value, Stat):
        return _plain(value.as_dict())
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


def to_csv(tables: list[Table]) -> str:
    """One CSV block per table; a Stat column becomes three: mean, std, count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for table in tables:
        header, stat_cols = ["table"], set()
        for i, col in enumerate(table.columns):
            if any(isinstance(row[i], Stat) for row in table.rows):
                stat_cols.add(i)
                header += [f"{col} mean", f"{col} std", f"{col} count"]
            else:
                header.append(col)
        writer.writerow(header)
        for row in table.rows:
            out = [table.title]
            for i, value in enumerate(row):
                if i in stat_cols:
                    stat = value if isinstance(value, Stat) else Stat(None, None, 0)
                    out += [stat.mean, stat.std, stat.count]
                else:
                    out.append(value)
            writer.writerow(out)
        writer.writerow([])
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
