"""Stores come from strangers and from crashes: read commands change nothing, damage is reported, never a traceback."""

import hashlib
import json
import resource
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from types import SimpleNamespace

import pytest

from zoo.cli import main

from conftest import run_zoo


@pytest.fixture
def zoo(capsys, monkeypatch):
    """The real command line in this process (no interpreter start-up per call): returncode, stdout, stderr."""
    monkeypatch.setenv("COLUMNS", "300")

    def call(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return call

# A label with rich markup, a list-valued axis, and a layout that does not fit the task: all must run and report.
MANIFEST = """
[suite]
store = "r.sqlite"
device = "cpu"
[[bench]]
name = "kink"
task = { name = "kink" }
model = { name = "mlp", hidden = 3 }
optimizers = [ { name = "guess_check", label = "[red]G&C[/red] [link=x]", target = 1, max_guesses = 2000 } ]
[bench.matrix]
n = [4]
bins = [0.4, 0.9]
seeds = [0, 1]
[[bench]]
name = "wrong-layout"
report = "episodes"
task = { name = "kink" }
model = { name = "mlp", hidden = 3 }
optimizers = [ { name = "guess_check", target = 1, max_guesses = 500 } ]
[bench.matrix]
n = [4]
[[bench]]
name = "classes"
task = { name = "mnist" }
model = { name = "linear" }
optimizers = [ { name = "guess_check", target = 1, max_guesses = 200 } ]
[bench.matrix]
n = [2]
"task.classes" = [[0, 1], [3, 8]]
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store written by a real run of MANIFEST, and its manifest; tests copy the store before damaging it."""
    folder = tmp_path_factory.mktemp("stored")
    (folder / "m.toml").write_text(MANIFEST)
    result = run_zoo("bench", folder / "m.toml", "--format", "json", env={"COLUMNS": "300"})
    assert result.returncode == 0, result.stderr
    return folder


def copy(stored, tmp_path):
    (tmp_path / "m.toml").write_text(MANIFEST)
    (tmp_path / "r.sqlite").write_bytes((stored / "r.sqlite").read_bytes())
    return tmp_path / "r.sqlite"


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def single_error(result, *phrases):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_odd_labels_list_axes_and_an_unfitting_layout_run_and_report_literally(zoo, stored):
    result = zoo("report", stored / "r.sqlite")
    assert result.returncode == 0, result.stderr
    assert "[red]G&C[/red]" in result.stdout and "[link=x]" in result.stdout  # printed as written, not as red text
    assert "task.classes=[0, 1]" in result.stdout and "task.classes=[3, 8]" in result.stdout
    assert "the 'episodes' layout cannot show these cells" in result.stdout and "wrong-layout: stored cells" in result.stdout
    tables = json.loads(zoo("report", stored / "r.sqlite", "--format", "json").stdout)
    assert any("[red]G&C[/red] [link=x] test accuracy" in t["title"] for t in tables)


def test_read_commands_create_and_change_nothing(zoo, stored, tmp_path):
    store = copy(stored, tmp_path)
    before = snapshot(tmp_path)
    for args in (("report", store), ("report", store, "--format", "csv"), ("bench", tmp_path / "m.toml", "--dry-run")):
        result = zoo(*args)
        assert result.returncode == 0, result.stderr
        assert snapshot(tmp_path) == before, args  # no -wal, no -shm, not a byte changed
    assert "0 to run" in result.stdout


def test_empty_file_and_another_programs_database_are_refused_untouched(zoo, tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    other = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
        conn.execute("INSERT INTO songs VALUES ('a')")
    (tmp_path / "m.toml").write_text(MANIFEST)
    before = snapshot(tmp_path)
    single_error(zoo("report", empty), "an empty file, not a zoo results store")
    single_error(zoo("plot", empty), "an empty file")
    single_error(zoo("report", other), "another program", "songs")
    single_error(zoo("bench", tmp_path / "m.toml", "--dry-run", "--store", other), "another program")
    single_error(zoo("bench", tmp_path / "m.toml", "--store", other), "another program")
    single_error(zoo("bench", tmp_path / "m.toml", "--store", empty), "an empty file")
    assert snapshot(tmp_path) == before


def test_a_store_of_a_newer_schema_is_refused(zoo, stored, tmp_path):
    store = copy(stored, tmp_path)
    with closing(sqlite3.connect(store)) as conn, conn:
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema'")
    single_error(zoo("report", store), "schema '7'", "this zoo reads schema '1'")
    single_error(zoo("bench", tmp_path / "m.toml"), "schema '7'")


def test_malformed_json_is_reported_with_the_rest_and_bench_refuses_to_write(zoo, stored, tmp_path):
    store = copy(stored, tmp_path)
    with closing(sqlite3.connect(store)) as conn, conn:
        bad = conn.execute("SELECT id FROM cells WHERE bench = 'kink' ORDER BY rowid LIMIT 1").fetchone()[0]
        conn.execute("UPDATE cells SET metrics = '{\"test_acc_values\": [0.5,' WHERE id = ?", (bad,))
    result = zoo("report", store, "--format", "json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"1 stored rows cannot be read" in result.stderr and bad in result.stderr
    assert json.loads(result.stdout)  # the other cells still reported
    before = snapshot(tmp_path)
    single_error(zoo("bench", tmp_path / "m.toml", "--rerun"), "cannot be read", "not writing to it")
    assert snapshot(tmp_path) == before


def test_page_corruption_is_reported_with_what_can_still_be_read(zoo, stored, tmp_path):
    store = copy(stored, tmp_path)
    with closing(sqlite3.connect(store)) as conn, conn:  # fill the table over several pages so one of them can be damaged
        conn.execute("PRAGMA journal_mode=DELETE")
        rows = conn.execute("SELECT * FROM cells").fetchall()
        for i in range(60):
            for row in rows:
                conn.execute(f"INSERT INTO cells VALUES ({', '.join('?' * len(row))})", (f"{row[0]}-{i}", *row[1:]))
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = conn.execute("SELECT max(rootpage) FROM sqlite_master").fetchone()[0]
        total = conn.execute("SELECT count(*) FROM cells").fetchone()[0]
    data = bytearray(store.read_bytes())
    leaf = next(p for p in range(roots + 1, len(data) // page_size) if data[(p - 1) * page_size] == 0x0D)  # a cells leaf
    data[(leaf - 1) * page_size + 8:(leaf) * page_size] = b"\xff" * (page_size - 8)
    store.write_bytes(bytes(data))
    result = zoo("report", store, "--format", "json", "--all")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "stored rows cannot be read" in result.stderr
    shown = sum(row[-1]["count"] if isinstance(row[-1], dict) else 0 for t in json.loads(result.stdout) for row in t["rows"])
    assert shown > 0
    single_error(zoo("bench", tmp_path / "m.toml"), "damaged", "zoo report")
    assert total > 0


@pytest.mark.parametrize("store", ["m.toml/r.sqlite", "/proc/zoo-results.sqlite", "."])
def test_a_store_path_that_cannot_be_a_store_is_one_line(zoo, tmp_path, store, monkeypatch):
    (tmp_path / "m.toml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    single_error(zoo("bench", tmp_path / "m.toml", "--store", store), "zoo: error:")


def test_nan_metrics_and_null_bin_edges_in_a_store_still_report(zoo, stored, tmp_path):
    store = copy(stored, tmp_path)
    with closing(sqlite3.connect(store)) as conn, conn:
        cell_id, metrics = conn.execute("SELECT id, metrics FROM cells WHERE bench = 'kink' LIMIT 1").fetchone()
        metrics = json.loads(metrics)
        metrics["counters"]["tested"] = float("nan")
        metrics["wall_time"] = None
        metrics["test_acc_values"] = [float("nan"), "odd", None]
        conn.execute("UPDATE cells SET metrics = ?, bin_lo = NULL WHERE id = ?", (json.dumps(metrics), cell_id))
    for fmt in ("table", "json", "csv", "markdown"):
        result = zoo("report", store, "--format", fmt)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (fmt, result.stderr)
    assert "(None, 0.9]" in result.stdout


def test_a_full_disk_stops_the_run_with_exit_2_and_the_count_of_safe_cells(tmp_path):
    """The file-size limit makes the store's writes fail as on a full disk (SQLite: database or disk is full)."""
    manifest = tmp_path / "m.toml"
    manifest.write_text(MANIFEST.split("[[bench]]\nname = \"wrong-layout\"")[0].replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3, 4, 5, 6, 7]"))
    limit = 100_000

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "zoo.cli", "bench", str(manifest)], capture_output=True, text=True,
                            preexec_fn=small_disk, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "are safe" in result.stderr, result.stderr
    with closing(sqlite3.connect(tmp_path / "r.sqlite")) as conn:
        kept = conn.execute("SELECT count(*) FROM cells").fetchone()[0]
    assert f"the {kept} cells stored before are safe" in result.stderr
    resumed = run_zoo("bench", manifest)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{8 - kept} cells run, {kept} already in" in resumed.stderr
