"""Stored cells as tidy tables: one row per cell, or one row per reported model.

Every parameter, axis, counter, metric and environment field becomes a
column, so a store loads into a data frame in one line
(``pandas.read_csv("cells.csv")``). The schema is versioned (the ``schema``
column); docs/export.md lists the columns and what changes a version.
"""

from __future__ import annotations

import csv
import io
import json
import math

SCHEMA = "zoo-export/1"

IDENTITY = ["schema", "id", "suite", "bench", "report", "task", "model", "optimizer", "label", "n", "bin_lo", "bin_hi",
            "seed", "finished_at"]
MODEL_COLUMNS = ["model_index", "test_acc", "train_loss"]
VALUES = ("test_acc_values", "train_loss_values")  # per model: the --models table holds them
GROUPS = ("axis.", "task.", "model.", "optimizer.", "data.", "metric.", "counter.", "env.")


def _scalar(value):
    """A column value: numbers, strings, booleans and None as they are; anything else as its JSON text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return json.dumps(value, sort_keys=True, default=str)


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = _scalar(value)


def cell_row(record: dict) -> dict:
    """One record of :meth:`zoo.store.Store.records` as a flat row."""
    loss_bin = record.get("bin") or (None, None)
    row = {"schema": SCHEMA, **{k: _scalar(record.get(k)) for k in IDENTITY[1:9]}, "n": record.get("n"),
           "bin_lo": loss_bin[0], "bin_hi": loss_bin[1], "seed": record.get("seed"), "finished_at": record.get("finished_at")}
    for name, value in (record.get("axes") or {}).items():
        row[f"axis.{name}"] = _scalar(value)
    spec = record.get("spec") or {}
    for kind in ("task", "model", "optimizer"):
        for name, value in ((spec.get(kind) or {}).get("params") or {}).items():
            row[f"{kind}.{name}"] = _scalar(value)
    if isinstance(spec.get("data"), dict):  # where the cell's data came from
        _flatten("data", spec["data"], row)
    metrics = dict(record.get("metrics") or {})
    counters = metrics.pop("counters", {}) or {}
    for name in VALUES:
        metrics.pop(name, None)
    flat: dict = {}
    _flatten("", metrics, flat)
    row.update({f"metric.{k}": v for k, v in flat.items()})
    row.update({f"counter.{k}": _scalar(v) for k, v in counters.items()})
    env: dict = {}
    _flatten("", record.get("env") or {}, env)
    row.update({f"env.{k}": v for k, v in env.items()})
    return row


def model_rows(record: dict) -> list[dict]:
    """One row per reported model of a cell: the cell's columns, the model's index, test accuracy and train loss."""
    base = cell_row(record)
    metrics = record.get("metrics") or {}
    tests, losses = metrics.get("test_acc_values") or [], metrics.get("train_loss_values") or []
    return [{**base, "model_index": i, "test_acc": _scalar(acc), "train_loss": _scalar(losses[i] if i < len(losses) else None)}
            for i, acc in enumerate(tests)]


def columns(rows: list[dict], models: bool = False) -> list[str]:
    """Identity columns first, then each group's columns sorted by name."""
    seen = {key for row in rows for key in row}
    lead = IDENTITY + (MODEL_COLUMNS if models else [])
    rest = sorted(seen - set(lead), key=lambda c: (next((i for i, g in enumerate(GROUPS) if c.startswith(g)), len(GROUPS)), c))
    return lead + rest


def tidy(records: list[dict], models: bool = False) -> tuple[list[str], list[dict]]:
    rows = [row for r in records for row in model_rows(r)] if models else [cell_row(r) for r in records]
    return columns(rows, models), rows


def to_csv(names: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_jsonl(names: list[str], rows: list[dict]) -> str:
    return "".join(json.dumps({name: row.get(name) for name in names}) + "\n" for row in rows)


def write_parquet(names: list[str], rows: list[dict], path) -> None:
    """Parquet through pyarrow (an optional dependency); the caller checks that it is installed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{name: row.get(name) for name in names} for row in rows]), str(path))
