"""The real command line on a tiny manifest: run, resume, report, formats."""

import csv
import io
import json
import shutil
from pathlib import Path

from conftest import run_zoo

TINY = Path(__file__).parent / "manifests" / "tiny.toml"


def test_bench_then_skip_then_report(tmp_path):
    manifest = tmp_path / "tiny.toml"
    shutil.copy(TINY, manifest)
    first = run_zoo("bench", manifest, "--format", "json")
    assert first.returncode == 0, first.stderr
    logged = [line for line in first.stderr.splitlines() if line.startswith("[")]
    assert len(logged) == 16 and logged[0].startswith("[1/16] kink: G&C n=4") and "accepted 5" in logged[0]
    tables = json.loads(first.stdout)
    titles = [t["title"] for t in tables]
    assert any("G&C test accuracy" in t for t in titles) and any("G&C − SGD" in t for t in titles)
    gc = next(t for t in tables if "G&C test accuracy" in t["title"])
    assert gc["columns"] == ["n", "(0.5, 0.6]", "(0.6, 0.7]"]
    assert [row[0] for row in gc["rows"]] == [4, 8]
    for row in gc["rows"]:
        for stat in row[1:]:
            assert stat["count"] == 10 and 0.0 <= stat["mean"] <= 100.0  # 5 accepted models x 2 seeds, in percent
    difference = next(t for t in tables if "G&C − SGD" in t["title"])
    assert difference["columns"] == ["n", "bin", "difference [95% CI]", "seeds", "equivalence ±3"]
    for row in difference["rows"]:
        d = row[2]  # seeds where both cells filled their target (SGD's 16 models may fall short of 5 in a bin)
        assert d["seeds"] == row[3] <= 2 and row[4] == d["verdict"] in ("equivalent", "different", "inconclusive")
        if row[3] == 2:
            assert d["ci_low"] <= d["estimate"] <= d["ci_high"]
    assert any(row[3] == 2 for row in difference["rows"])

    second = run_zoo("bench", manifest, "--format", "json")
    assert second.returncode == 0
    assert "0 cells run, 16 already in" in second.stderr
    assert json.loads(second.stdout) == tables

    report = run_zoo("report", tmp_path / "tiny.sqlite", "--format", "json")
    assert report.returncode == 0 and json.loads(report.stdout) == tables

    as_csv = list(csv.reader(io.StringIO(run_zoo("report", tmp_path / "tiny.sqlite", "--format", "csv").stdout)))
    assert as_csv[0] == ["table", "row", "column", "field", "value"] and all(len(line) == 5 for line in as_csv)
    assert ["kink: G&C test accuracy % (kink, mlp)", "n=4", "(0.5, 0.6]", "count", "10"] in as_csv
    markdown = run_zoo("report", tmp_path / "tiny.sqlite", "--format", "markdown").stdout
    assert "| n | (0.5, 0.6] | (0.6, 0.7] |" in markdown
    rich_table = run_zoo("report", tmp_path / "tiny.sqlite").stdout
    assert "G&C test accuracy" in rich_table and "±" in rich_table


def test_dry_run_lists_cells_and_runs_nothing(tmp_path):
    manifest = tmp_path / "tiny.toml"
    shutil.copy(TINY, manifest)
    out = run_zoo("bench", manifest, "--dry-run")
    assert out.returncode == 0
    assert "16 cells, 16 to run" in out.stdout and "kink (16 cells, report bins)" in out.stdout  # the listing is output
    assert not (tmp_path / "tiny.sqlite").exists()


def test_report_on_missing_store_is_a_clear_error(tmp_path):
    out = run_zoo("report", tmp_path / "nope.sqlite")
    assert out.returncode == 2 and "no such store" in out.stderr and "Traceback" not in out.stderr


def test_list_shows_builtins_with_origin_and_defaults():
    out = run_zoo("list", "--format", "json")
    listing = json.loads(out.stdout)
    gc = next(s for s in listing["optimizer"] if s["name"] == "guess_check")
    assert gc["origin"] == "built-in" and gc["params"]["radius"] == 1.0
    assert {"linear", "mlp", "lenet"} <= {s["name"] for s in listing["model"]}
    assert {"mnist", "kink", "slab"} <= {s["name"] for s in listing["task"]}
    text = " ".join(run_zoo("list", "optimizer").stdout.split())
    assert "guess_check (built-in)" in text and 'engine = "fast"' in text and "steer = true" in text


def _counts(tables, title):
    """Models per table entry: a mean's count, or k of an unfilled entry's "k of K (unfilled)"."""
    table = next(t for t in tables if title in t["title"])
    return [stat["count"] if isinstance(stat, dict) else int(stat.split(" of ")[0]) for row in table["rows"] for stat in row[1:]]


def test_changed_parameters_do_not_pool_with_older_cells(tmp_path):
    manifest = tmp_path / "tiny.toml"
    shutil.copy(TINY, manifest)
    first = run_zoo("bench", manifest, "--format", "json")
    assert first.returncode == 0
    before = _counts(json.loads(first.stdout), "SGD test accuracy")
    manifest.write_text(manifest.read_text().replace("lr = 0.1,", "lr = 0.05,"))
    rerun = run_zoo("bench", manifest, "--format", "json")
    assert rerun.returncode == 0 and "8 cells run, 8 already in" in rerun.stderr
    fresh = json.loads(rerun.stdout)
    after = _counts(fresh, "SGD test accuracy")
    assert max(after) <= 10  # 5 models x 2 seeds at most: only the new lr's cells, not both

    report = run_zoo("report", tmp_path / "tiny.sqlite", "--format", "json")
    assert report.returncode == 0 and json.loads(report.stdout) == fresh
    assert "8 older cells left out" in report.stderr
    pooled = json.loads(run_zoo("report", tmp_path / "tiny.sqlite", "--all", "--format", "json").stdout)
    assert _counts(pooled, "SGD test accuracy") == [a + b for a, b in zip(before, after)]
