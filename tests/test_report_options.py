"""The report layout and the equivalence margin are chosen when reporting, not frozen in stored cells."""

import json

import pytest

from zoo import manifest, runner
from zoo.cli import main
from zoo.registry import default_registry
from zoo.store import Store

MANIFEST = """
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "k"
report = "bins"
task = { name = "kink" }
model = { name = "mlp", hidden = 6 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 4, max_guesses = 100000, batch = 4096 },
  { name = "sgd", label = "SGD", lr = 0.1, epochs = 20, init = "default", target = 4, max_models = 8, population = 8 },
]
matrix = { n = [4], seeds = [0, 1, 2] }
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("options")
    path = folder / "m.toml"
    path.write_text(MANIFEST)
    loaded = manifest.load(path, default_registry())
    store = Store(loaded.store)
    assert runner.run(loaded, default_registry(), store)["done"] == 6
    store.close()
    return path


def report(capsys, *args):
    assert main(["report", *map(str, args), "--format", "json"]) == 0
    return {t["title"].split(" (")[0]: t for t in json.loads(capsys.readouterr().out)}


def test_layout_and_margin_from_the_command_line(stored, capsys):
    store = stored.parent / "s.sqlite"
    bins = report(capsys, store)
    assert bins["k: G&C − SGD, test accuracy"]["columns"] == ["n", "bin", "difference [95% CI]", "seeds", "equivalence ±3"]
    side = report(capsys, store, "--layout", "side_by_side", "--margin", "7.5")
    assert side["k: test accuracy %"]["columns"] == ["n", "G&C", "SGD"]
    [row] = side["k: G&C − SGD, test accuracy"]["rows"]
    assert row[0] == 4 and row[1]["margin"] == 7.5 and row[1]["seeds"] == row[2] == 3
    assert main(["report", str(store), "--margin", "0"]) == 2
    assert "--margin must be between 0 and 100" in capsys.readouterr().err


def test_a_changed_manifest_layout_applies_to_stored_cells(stored, capsys):
    stored.write_text(MANIFEST.replace('report = "bins"', 'report = "side_by_side"\nequivalence_margin = 5'))
    by_manifest = report(capsys, stored)
    assert "k: test accuracy %" in by_manifest and "k: G&C test accuracy %" not in by_manifest
    assert by_manifest["k: G&C − SGD, test accuracy"]["columns"][-1] == "equivalence ±5"
    assert main(["bench", str(stored), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "0 cells run, 6 already in" in out.err
    assert {t["title"].split(" (")[0]: t for t in json.loads(out.out)} == by_manifest
