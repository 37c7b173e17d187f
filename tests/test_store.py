"""The SQLite store: atomic rows, replacement, parameters, bad files."""

import sqlite3

import pytest
import torch

from zoo.cells import Cell, Component
from zoo.errors import ZooError
from zoo.store import Store


def cell(seed=0, n=4):
    return Cell("s", "b", "bins", Component("kink", {"margin": 0.25}), Component("mlp", {"hidden": 3, "layers": 1}),
                Component("guess_check", {"target": 1}), n, (0.3, 0.4), seed, {})


def test_rows_round_trip_with_params(tmp_path):
    store = Store(tmp_path / "r.sqlite")
    theta = torch.randn(3, 17)
    store.add(cell(), {"test_acc_values": [0.5]}, {"torch": "x"}, theta)
    store.add(cell(seed=1), {"test_acc_values": [0.7]}, {"torch": "x"})
    records = store.records()
    assert [r["seed"] for r in records] == [0, 1]
    assert records[0]["bin"] == (0.3, 0.4) and records[0]["metrics"]["test_acc_values"] == [0.5]
    torch.testing.assert_close(store.params(records[0]["id"]), theta)
    assert store.params(records[1]["id"]) is None
    assert store.done_ids() == {cell().id, cell(seed=1).id}


def test_adding_the_same_cell_again_replaces_it(tmp_path):
    store = Store(tmp_path / "r.sqlite")
    store.add(cell(), {"test_acc_values": [0.5]}, {})
    store.add(cell(), {"test_acc_values": [0.9]}, {})
    assert [r["metrics"]["test_acc_values"] for r in store.records()] == [[0.9]]


def test_missing_or_foreign_store_is_a_clear_error(tmp_path):
    with pytest.raises(ZooError, match="no such store"):
        Store(tmp_path / "absent.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ZooError, match="not a zoo results store"):
        Store(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE cells (x)")
    with pytest.raises(ZooError, match="not a zoo results store"):
        Store(other)
