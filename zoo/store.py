"""The results store: one SQLite row per finished cell, committed atomically.

A cell's row (and, when asked, its models' parameters) is written in one
transaction after the cell finishes, so an interruption at any moment leaves
either the whole cell or nothing. Re-running a manifest skips stored ids.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from zoo.cells import Cell
from zoo.errors import ZooError

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    id TEXT PRIMARY KEY,
    suite TEXT NOT NULL, bench TEXT NOT NULL, report TEXT NOT NULL,
    task TEXT NOT NULL, model TEXT NOT NULL, optimizer TEXT NOT NULL, label TEXT NOT NULL,
    n INTEGER NOT NULL, bin_lo REAL, bin_hi REAL, seed INTEGER NOT NULL,
    axes TEXT NOT NULL, spec TEXT NOT NULL, metrics TEXT NOT NULL, env TEXT NOT NULL,
    finished_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS params (cell_id TEXT PRIMARY KEY REFERENCES cells(id), data BLOB NOT NULL);
"""


class Store:
    def __init__(self, path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ZooError(f"{self.path}: no such store; run `zoo bench MANIFEST` first or pass the right path")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            with self.conn:
                self.conn.executescript(SCHEMA)
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self.conn.execute("SELECT id, spec, metrics, env FROM cells LIMIT 1")  # a foreign 'cells' table fails here
        except sqlite3.DatabaseError as error:
            raise ZooError(f"{self.path}: not a zoo results store ({error}); pass another --store path") from None

    def close(self):
        self.conn.close()

    def done_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM cells")}

    def add(self, cell: Cell, metrics: dict, env: dict, params: torch.Tensor | None = None) -> None:
        """Store a finished cell (replacing an earlier row for the same id) in one transaction."""
        lo, hi = cell.loss_bin if cell.loss_bin else (None, None)
        row = (cell.id, cell.suite, cell.bench, cell.report, cell.task.name, cell.model.name, cell.optimizer.name,
               cell.label, cell.n, lo, hi, cell.seed, json.dumps(cell.axes), json.dumps(cell.spec()),
               json.dumps(metrics), json.dumps(env), datetime.now(timezone.utc).isoformat(timespec="seconds"))
        with self.conn:
            self.conn.execute("DELETE FROM params WHERE cell_id = ?", (cell.id,))
            self.conn.execute(f"INSERT OR REPLACE INTO cells VALUES ({', '.join('?' * len(row))})", row)
            if params is not None:
                buffer = io.BytesIO()
                np.save(buffer, params.detach().cpu().numpy(), allow_pickle=False)
                self.conn.execute("INSERT INTO params VALUES (?, ?)", (cell.id, buffer.getvalue()))

    def records(self, benches: list[str] | None = None) -> list[dict]:
        """Every stored cell as a plain dict, in insertion order."""
        query = "SELECT id, suite, bench, report, task, model, optimizer, label, n, bin_lo, bin_hi, seed, axes, spec, metrics, env, finished_at FROM cells"
        args: tuple = ()
        if benches:
            query += f" WHERE bench IN ({', '.join('?' * len(benches))})"
            args = tuple(benches)
        out = []
        for r in self.conn.execute(query + " ORDER BY rowid", args):
            out.append({
                "id": r[0], "suite": r[1], "bench": r[2], "report": r[3], "task": r[4], "model": r[5],
                "optimizer": r[6], "label": r[7], "n": r[8], "bin": (r[9], r[10]) if r[9] is not None else None,
                "seed": r[11], "axes": json.loads(r[12]), "spec": json.loads(r[13]), "metrics": json.loads(r[14]),
                "env": json.loads(r[15]), "finished_at": r[16],
            })
        return out

    def params(self, cell_id: str) -> torch.Tensor | None:
        """The stored parameters ``[K, P]`` of a cell's reported models, if it kept them."""
        row = self.conn.execute("SELECT data FROM params WHERE cell_id = ?", (cell_id,)).fetchone()
        return torch.from_numpy(np.load(io.BytesIO(row[0]), allow_pickle=False)) if row else None
