"""zoo export (tidy tables of cells and models) and zoo compare (two stores, same matrix points)."""

import csv
import importlib.util
import io
import json

import pytest

from zoo import manifest, runner
from zoo.cli import main
from zoo.export import IDENTITY, SCHEMA
from zoo.registry import default_registry
from zoo.store import Store

MANIFEST = """
[suite]
store = "STORE"
device = "cpu"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp", hidden = 6 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 4, max_guesses = 100000, batch = 4096 },
  { name = "sgd", label = "SGD", lr = LR, epochs = 20, init = "default", target = 4, max_models = 8, population = 8 },
]
matrix = { n = [4], bins = [0.5, 0.7], seeds = [0, 1, 2] }
"""


def run(folder, store, lr):
    path = folder / f"{store}.toml"
    path.write_text(MANIFEST.replace("STORE", f"{store}.sqlite").replace("LR", str(lr)))
    loaded = manifest.load(path, default_registry())
    db = Store(loaded.store)
    assert runner.run(loaded, default_registry(), db)["done"] == 6
    records = db.records()
    db.close()
    return loaded.store, records


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    return run(folder, "a", 0.1), run(folder, "b", 0.05)


def test_export_writes_one_row_per_cell_with_every_field(stores, capsys, tmp_path):
    (path, records), _ = stores
    assert main(["export", str(path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(records) == 6
    header = list(rows[0])
    assert header[:len(IDENTITY)] == IDENTITY
    for column in ("optimizer.lr", "optimizer.target", "model.hidden", "task.margin", "counter.tested", "metric.test_acc.mean",
                   "metric.acceptance.ci_high", "metric.wall_time", "env.torch", "env.zoo"):
        assert column in header
    by_id = {r["id"]: r for r in records}
    for row in rows:
        record = by_id[row["id"]]
        assert row["schema"] == SCHEMA and row["label"] == record["label"] and int(row["seed"]) == record["seed"]
        assert float(row["metric.test_acc.mean"]) == record["metrics"]["test_acc"]["mean"]
        assert float(row["counter.tested"]) == record["metrics"]["counters"]["tested"]
        assert row["optimizer.lr"] == ("0.1" if record["label"] == "SGD" else "")  # G&C has no lr
        assert (float(row["bin_lo"]), float(row["bin_hi"])) == (0.5, 0.7)

    out = tmp_path / "cells.jsonl"
    assert main(["export", str(path), "--format", "jsonl", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(lines[0]) == header and {line["id"] for line in lines} == set(by_id)


def test_export_models_gives_one_row_per_reported_model_and_loads_into_pandas(stores, tmp_path):
    (path, records), _ = stores
    out = tmp_path / "models.csv"
    assert main(["export", str(path), "--models", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == sum(len(r["metrics"]["test_acc_values"]) for r in records) > 0
    first = next(r for r in records if r["metrics"]["test_acc_values"])
    mine = [row for row in rows if row["id"] == first["id"]]
    assert [float(row["test_acc"]) for row in mine] == first["metrics"]["test_acc_values"]
    assert [int(row["model_index"]) for row in mine] == list(range(len(mine)))
    if importlib.util.find_spec("pandas"):
        import pandas

        frame = pandas.read_csv(out)
        assert len(frame) == len(rows) and frame["test_acc"].between(0, 1).all()


def test_parquet_needs_pyarrow_or_says_so(stores, tmp_path, capsys):
    (path, records), _ = stores
    out = tmp_path / "cells.parquet"
    code = main(["export", str(path), "--format", "parquet", "--out", str(out)])
    if importlib.util.find_spec("pyarrow") is None:
        assert code == 2 and "--format parquet needs pyarrow" in capsys.readouterr().err and not out.exists()
    else:
        import pyarrow.parquet as pq

        assert code == 0 and pq.read_table(out).num_rows == len(records)


def test_compare_lines_up_matrix_points_with_differences(stores, capsys):
    (a, _), (b, _) = stores
    assert main(["compare", str(a), str(b), "--format", "json"]) == 0
    [table] = json.loads(capsys.readouterr().out)
    assert table["title"].startswith("k: A − B") and table["columns"][:3] == ["optimizer", "n", "bin"]
    rows = {row[0]: row for row in table["rows"]}
    assert set(rows) == {"G&C", "SGD"}
    same = rows["G&C"]  # the same G&C cells in both stores: no difference, and a zero-width interval
    assert same[5]["estimate"] == same[5]["ci_low"] == same[5]["ci_high"] == 0 and same[7] == "equivalent"
    assert same[8]["estimate"] == 0
    sgd = rows["SGD"]  # another learning rate in B
    assert sgd[3]["count"] > 0 and sgd[5]["ci_low"] <= sgd[5]["estimate"] <= sgd[5]["ci_high"] and sgd[6] <= 3
    assert sgd[8] is None  # SGD counts no guesses


def test_compare_of_stores_without_a_shared_point_is_exit_2(stores, tmp_path, capsys):
    (a, _), _ = stores
    other, _ = run(tmp_path, "c", 0.1)
    db = Store(other)
    with db.conn:
        db.conn.execute("UPDATE cells SET bench = 'elsewhere'")
    db.close()
    assert main(["compare", str(a), str(other)]) == 2
    assert "share no matrix point" in capsys.readouterr().err
