"""Cells a budget cannot fill are reported as such, never averaged as if full."""

import json

from conftest import run_zoo

MANIFEST = """
[suite]
name = "budget"
store = "budget.sqlite"
device = "cpu"

[[bench]]
name = "kink"
task = { name = "kink" }
model = { name = "mlp", hidden = 6 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 5, max_guesses = GUESSES, batch = 64 },
  { name = "sgd", label = "SGD", lr = 0.1, epochs = 20, init = "default", target = 5, max_models = 16, population = 16 },
]
[bench.matrix]
n = [8]
bins = [0.5, 0.6, 0.7]
seeds = [0, 1]
"""


def _bench(tmp_path, guesses):
    manifest = tmp_path / "budget.toml"
    manifest.write_text(MANIFEST.replace("GUESSES", str(guesses)))
    out = run_zoo("bench", manifest, "--format", "json", "--rerun")
    assert out.returncode == 0, out.stderr
    return {t["title"].split(":")[1].split("(")[0].strip(): t for t in json.loads(out.stdout)}, _records(tmp_path)


def _records(tmp_path):
    from zoo.store import Store

    store = Store(tmp_path / "budget.sqlite", create=False)
    try:
        return store.records()
    finally:
        store.close()


def test_a_cell_with_fewer_models_than_asked_is_unfilled_with_its_counts_and_bound(tmp_path):
    tables, records = _bench(tmp_path, 64)  # one chunk of guesses per cell: too few for 5 models in a bin
    gc = tables["G&C test accuracy %"]
    stored = {}
    for r in records:
        if r["label"] == "G&C":
            entry = stored.setdefault(tuple(r["bin"]), [0, 0, 0])
            entry[0] += r["metrics"]["models"]
            entry[1] += int(r["metrics"]["counters"]["accepted"])
            entry[2] += int(r["metrics"]["counters"]["tested"])
    short = {b: counts for b, counts in stored.items() if counts[0] < 10}
    assert short, "the budget should leave at least one bin unfilled"
    for column, b in zip(gc["columns"][1:], sorted(stored)):
        value = gc["rows"][0][1 + sorted(stored).index(b)]
        if b in short:
            assert value == f"{short[b][0]} of 10 (unfilled)"  # a count, not a mean
            assert f"n=8 {column}: {short[b][0]} of 10 models after {short[b][2]:,} tried" in gc["note"]
        else:
            assert value["count"] == 10
    assert "accepted share" in gc["note"] and "not averaged" in gc["note"]

    # the difference pairs only seeds whose cells both filled their target: no unfilled cell is averaged there
    full = {(r["label"], tuple(r["bin"]), r["seed"]) for r in records if r["metrics"]["models"] >= 5}
    difference = tables["G&C − SGD, test accuracy"]
    for row in difference["rows"]:
        b = tuple(float(e) for e in row[1].strip("(]").split(", "))
        both = [s for s in (0, 1) if ("G&C", b, s) in full and ("SGD", b, s) in full]
        assert row[3] == len(both) and (row[2]["estimate"] is None) == (not both)
    assert "filled their target" in difference["note"]


def test_a_budget_that_fills_every_cell_reports_means_only(tmp_path):
    tables, _ = _bench(tmp_path, 200_000)
    gc = tables["G&C test accuracy %"]
    assert all(value["count"] == 10 for value in gc["rows"][0][1:])
    assert "unfilled" not in gc["note"]
