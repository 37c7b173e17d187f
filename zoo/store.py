"""The results store: one SQLite row per finished cell, committed atomically.

A cell's row (and, when asked, its models' parameters) is written in one
transaction after the cell finishes, so an interruption at any moment leaves
either the whole cell or nothing. Re-running a manifest skips stored ids.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from zoo.cells import Cell
from zoo.checkpoints import Saved
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
CREATE TABLE IF NOT EXISTS leases (cell_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    experiment TEXT PRIMARY KEY, cell_id TEXT NOT NULL, final INTEGER NOT NULL, saved_at REAL NOT NULL,
    header TEXT NOT NULL, data BLOB NOT NULL
);
"""
# The checkpoints table came after schema 1 without changing it: an older zoo ignores the table, a store
# without it gets it when opened for writing, and reading one without it finds no checkpoints.


class StoreWriteError(ZooError):
    """The store cannot take another cell (full disk, read-only file): the run stops, stored cells stay."""


class Store:
    """A results store. ``create=False`` opens it read-only: nothing is created or changed on disk.

    A file is accepted only when it is a zoo store of a schema this version
    knows; an empty file, another program's database or a newer store is
    refused untouched. A store opened for writing must also be undamaged.
    """

    def __init__(self, path, create: bool = True):
        self.path = Path(path)
        self.readonly = not create
        self.unreadable: list[str] = []  # rows (by id or rowid) that could not be read, for the caller to report
        if self.readonly and not self.path.is_file():
            raise ZooError(f"{self.path}: no such store; run `zoo bench MANIFEST` first or pass the right path")
        if self.path.exists() and not self.path.is_file():
            raise ZooError(f"{self.path}: is not a file; pass a store path (e.g. results/NAME.sqlite)")
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise ZooError(f"{self.path}: an empty file, not a zoo results store; left untouched; pass another path "
                           "or delete the file")
        self.conn = self._connect_readonly() if self.readonly else self._connect_writable()

    def _connect_readonly(self) -> sqlite3.Connection:
        # Without a -wal file the store is fully checkpointed: opening it immutable creates no -wal/-shm beside it
        # (a plain read-only open of a WAL database would leave both behind, even in someone else's folder).
        immutable = "" if Path(f"{self.path}-wal").exists() else "&immutable=1"
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro{immutable}", uri=True, timeout=30)
            self._check_schema(conn)
        except sqlite3.DatabaseError as error:
            raise ZooError(f"{self.path}: not a zoo results store, or a damaged one ({error}); left untouched; "
                           "pass another path") from None
        return conn

    def _connect_writable(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ZooError(f"{self.path}: cannot create its folder ({error.strerror or error}); pass another --store") from None
        existed = self.path.is_file() or not self._create()
        if existed:  # look before touching: another program's database or a damaged store is left as it is
            self.conn = self._connect_readonly()
            try:
                self._check_whole()
            finally:
                self.conn.close()
        try:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}'); COMMIT;")
        except sqlite3.DatabaseError as error:
            stored = "" if not existed else f"; the {self._count_readonly()} cells it holds are safe"
            raise StoreWriteError(f"{self.path}: cannot write the store ({error}){stored}; free disk space, fix its "
                                  "permissions or pass another --store") from None
        return conn

    def _create(self) -> bool:
        """Write a new store whole under a temporary name and link it into place; False when another runner's
        store got there first. Nobody ever sees a half-made store (an empty file, tables without a version)."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        try:
            conn = sqlite3.connect(temporary)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(f"BEGIN; {SCHEMA} INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}'); COMMIT;")
            finally:
                conn.close()
            os.link(temporary, self.path)
            return True
        except FileExistsError:
            return False
        except (sqlite3.Error, OSError) as error:
            raise StoreWriteError(f"{self.path}: cannot create the store ({error}); free disk space, fix the folder's "
                                  "permissions or pass another --store") from None
        finally:
            for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
                leftover.unlink(missing_ok=True)

    def _count_readonly(self) -> int:
        try:
            conn = self._connect_readonly()
        except ZooError:
            return 0
        try:
            return conn.execute("SELECT count(*) FROM cells").fetchone()[0]
        except sqlite3.Error:
            return 0
        finally:
            conn.close()

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables or "cells" not in tables:
            raise ZooError(f"{self.path}: an SQLite database of another program (tables: {', '.join(sorted(tables)) or 'none'}), "
                           "not a zoo results store; left untouched; pass another path")
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            found = "no schema version" if version is None else f"schema {version[0]!r}"
            raise ZooError(f"{self.path}: a store of {found}; this zoo reads schema {SCHEMA_VERSION!r}; "
                           "use the zoo version that wrote it (pip install -U zoo for a newer one)")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
        missing = {"id", "bench", "label", "n", "seed", "axes", "spec", "metrics", "env"} - columns
        if missing:
            raise ZooError(f"{self.path}: its cells table lacks {', '.join(sorted(missing))}; not a zoo results store")

    def _check_whole(self) -> None:
        """Writing into a damaged file could lose what is still readable: refuse, and say what to do."""
        try:
            problems = [row[0] for row in self.conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as error:
            problems = [str(error)]
        if problems != ["ok"]:
            raise ZooError(f"{self.path}: the store is damaged ({problems[0]}); not writing to it. `zoo report "
                           f"{self.path}` shows what can still be read; run with another --store")
        self.records()
        if self.unreadable:
            raise ZooError(f"{self.path}: {len(self.unreadable)} stored rows cannot be read (first: {self.unreadable[0]}); "
                           f"not writing to it. `zoo report {self.path}` shows the rest; run with another --store")

    def close(self):
        self.conn.close()

    def done_ids(self) -> set[str]:
        try:
            return {row[0] for row in self.conn.execute("SELECT id FROM cells")}
        except sqlite3.DatabaseError:  # a damaged read-only store: what can be read
            return {r["id"] for r in self.records()}

    def count(self) -> int:
        """How many cells the store holds (for messages after a failed write)."""
        try:
            return self.conn.execute("SELECT count(*) FROM cells").fetchone()[0]
        except sqlite3.Error:
            return 0

    def add(self, cell: Cell, metrics: dict, env: dict, params: torch.Tensor | None = None,
            final_state: tuple[str, bytes] | None = None) -> None:
        """Store a finished cell (replacing an earlier row for the same id) in one transaction.

        The cell's in-flight checkpoint goes in the same transaction: replaced
        by ``final_state`` (header, bytes; what a cell whose budget grows
        continues from) or dropped.
        """
        lo, hi = cell.loss_bin if cell.loss_bin else (None, None)
        row = (cell.id, cell.suite, cell.bench, cell.report, cell.task.name, cell.model.name, cell.optimizer.name,
               cell.label, cell.n, lo, hi, cell.seed, json.dumps(cell.axes), json.dumps(cell.spec()),
               json.dumps(metrics), json.dumps(env), datetime.now(timezone.utc).isoformat(timespec="seconds"))
        try:
            self._write(cell, row, params, final_state)
        except (sqlite3.Error, OSError) as error:
            raise StoreWriteError(f"{self.path}: cannot store a finished cell ({error}); the {self.count()} cells stored "
                                  "before are safe; free disk space or fix permissions and run again to resume") from None

    def _write(self, cell: Cell, row: tuple, params, final_state) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM checkpoints WHERE experiment = ?", (cell.experiment_id,))
            if final_state is not None:
                self.conn.execute("INSERT INTO checkpoints VALUES (?, ?, 1, ?, ?, ?)",
                                  (cell.experiment_id, cell.id, time.time(), *final_state))
            self.conn.execute("DELETE FROM leases WHERE cell_id = ?", (cell.id,))  # stored: nobody needs to hold it
            self.conn.execute("DELETE FROM params WHERE cell_id = ?", (cell.id,))
            self.conn.execute(f"INSERT OR REPLACE INTO cells VALUES ({', '.join('?' * len(row))})", row)
            if params is not None:
                buffer = io.BytesIO()
                np.save(buffer, params.detach().cpu().numpy(), allow_pickle=False)
                self.conn.execute("INSERT INTO params VALUES (?, ?)", (cell.id, buffer.getvalue()))

    def claim(self, cell_id: str, holder: str, seconds: float, rerun: bool = False, stale=lambda holder: False) -> bool:
        """Take the lease on a cell for ``seconds`` unless it is stored (and not ``rerun``) or another runner
        holds a live lease on it. ``stale(holder)`` says whether a holder is known to be dead."""
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")  # one claimant at a time: check and take atomically
                if not rerun and self.conn.execute("SELECT 1 FROM cells WHERE id = ?", (cell_id,)).fetchone():
                    return False
                lease = self.conn.execute("SELECT holder, expires FROM leases WHERE cell_id = ?", (cell_id,)).fetchone()
                if lease and lease[0] != holder and lease[1] > time.time() and not stale(lease[0]):
                    return False
                self.conn.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (cell_id, holder, time.time() + seconds))
                return True
        except (sqlite3.Error, OSError) as error:
            raise StoreWriteError(f"{self.path}: cannot take a cell's lease ({error}); the {self.count()} cells stored "
                                  "are safe; free disk space or fix permissions and run again to resume") from None

    def release(self, holder: str) -> None:
        """Give up every lease ``holder`` still has (cells it did not store: failed or interrupted)."""
        try:
            with self.conn:
                self.conn.execute("DELETE FROM leases WHERE holder = ?", (holder,))
        except sqlite3.Error:  # leases expire on their own
            pass

    def records(self, benches: list[str] | None = None) -> list[dict]:
        """Every readable stored cell as a plain dict, in insertion order.

        Rows that cannot be read (a damaged page, malformed JSON) are left out
        and named in :attr:`unreadable`; the rest are returned.
        """
        where, args = "", ()
        if benches:
            where, args = f" WHERE bench IN ({', '.join('?' * len(benches))})", tuple(benches)
        self.unreadable = []
        try:
            rows = self.conn.execute(f"SELECT rowid, {COLUMNS} FROM cells{where} ORDER BY rowid", args).fetchall()
        except sqlite3.DatabaseError:
            rows = self._rows_one_by_one(where, args)
        out = []
        for r in rows:
            try:
                out.append(_record(r[1:]))
            except (ValueError, TypeError) as error:
                self.unreadable.append(f"cell {r[1]!r} ({type(error).__name__}: {error})")
        return out

    def _rows_one_by_one(self, where: str, args: tuple) -> list[tuple]:
        """A damaged table read row by row: every row a damaged page does not hold."""
        try:
            last = self.conn.execute("SELECT max(rowid) FROM cells").fetchone()[0] or 0
        except sqlite3.DatabaseError as error:
            self.unreadable.append(f"the cells table ({error})")
            return []
        rows = []
        clause = where.replace(" WHERE ", " AND ") if where else ""
        for rowid in range(1, last + 1):
            try:
                row = self.conn.execute(f"SELECT rowid, {COLUMNS} FROM cells WHERE rowid = ?{clause}", (rowid, *args)).fetchone()
            except sqlite3.DatabaseError as error:
                self.unreadable.append(f"row {rowid} ({error})")
                continue
            if row is not None:
                rows.append(row)
        return rows

    def drop_checkpoint(self, experiment: str) -> None:
        """Forget an experiment's progress (a cell run again from the start)."""
        try:
            with self.conn:
                self.conn.execute("DELETE FROM checkpoints WHERE experiment = ?", (experiment,))
        except sqlite3.Error as error:
            raise StoreWriteError(f"{self.path}: cannot drop a checkpoint ({error}); the {self.count()} cells stored "
                                  "are safe; free disk space or fix permissions and run again") from None

    def checkpoint(self, experiment: str) -> Saved | None:
        """The checkpoint of an experiment (:attr:`Cell.experiment_id`), if any; its contents are checked on use."""
        return read_checkpoint(self.conn, experiment)

    def params(self, cell_id: str) -> torch.Tensor | None:
        """The stored parameters ``[K, P]`` of a cell's reported models, if it kept them."""
        try:
            row = self.conn.execute("SELECT data FROM params WHERE cell_id = ?", (cell_id,)).fetchone()
            return torch.from_numpy(np.load(io.BytesIO(row[0]), allow_pickle=False)) if row else None
        except (sqlite3.DatabaseError, ValueError, TypeError, OSError):  # damaged parameters: as if not kept
            return None


COLUMNS = "id, suite, bench, report, task, model, optimizer, label, n, bin_lo, bin_hi, seed, axes, spec, metrics, env, finished_at"


def _record(r: tuple) -> dict:
    """A row as the dict reports read; raises ValueError on malformed JSON."""
    record = {
        "id": r[0], "suite": r[1], "bench": r[2], "report": r[3], "task": r[4], "model": r[5],
        "optimizer": r[6], "label": r[7], "n": r[8], "bin": (r[9], r[10]) if r[9] is not None or r[10] is not None else None,
        "seed": r[11], "axes": json.loads(r[12]), "spec": json.loads(r[13]), "metrics": json.loads(r[14]),
        "env": json.loads(r[15]), "finished_at": r[16],
    }
    for key in ("axes", "spec", "metrics", "env"):
        if not isinstance(record[key], dict):
            raise ValueError(f"{key} is not a JSON object")
    return record


def read_checkpoint(conn: sqlite3.Connection, experiment: str) -> Saved | None:
    """A checkpoint row as stored; None when there is none or it cannot be read (a store without the table too)."""
    try:
        row = conn.execute("SELECT header, data, cell_id, final FROM checkpoints WHERE experiment = ?",
                           (experiment,)).fetchone()
    except sqlite3.DatabaseError:
        return None
    if row is None or not isinstance(row[0], str) or not isinstance(row[1], bytes):
        return None
    return Saved(row[0], row[1], str(row[2]), bool(row[3]))


class CheckpointTable:
    """The store's checkpoints table as one running cell sees it: its own connection, nothing else touched.

    Opened in the ``zoo bench`` process, for the cell it runs itself (so
    checkpoints never wait for the runner's commits) or for checkpoints that
    cells on Ray workers posted back.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)  # never creates a file

    def load(self, experiment: str) -> Saved | None:
        return read_checkpoint(self.conn, experiment)

    def save(self, experiment: str, cell_id: str, header: str, data: bytes) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, 0, ?, ?, ?)",
                              (experiment, cell_id, time.time(), header, data))

    def close(self) -> None:
        self.conn.close()
