"""Manifest parsing, validation messages and expansion into cells."""

import re
from pathlib import Path

import pytest
import torch

from conftest import run_zoo
from zoo import manifest
from zoo.cli import main
from zoo.errors import ManifestError
from zoo.registry import default_registry

HERE = Path(__file__).parent
BAD = sorted((HERE / "manifests" / "bad").glob("*.toml"))


def write(tmp_path, text) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def test_there_are_at_least_a_dozen_malformed_manifests():
    assert len(BAD) >= 12


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_malformed_manifest_exits_2_with_one_message_naming_the_problem(path, capsys):
    expected = re.search(r"^# expect: (.*)$", path.read_text(), re.M).group(1)
    assert main(["bench", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("zoo: error:")]
    assert len(errors) == 1
    assert str(path) in errors[0] and expected in errors[0]


def test_expansion_crosses_optimizers_sizes_bins_seeds_and_axes(tmp_path):
    path = write(tmp_path, """
[suite]
store = "s.sqlite"
[defaults]
matrix = { seeds = [0, 1, 2] }
[[bench]]
name = "w"
task = { name = "mnist" }
model = { name = "lenet" }
optimizers = [ { name = "guess_check", target = 3 }, { name = "sgd", label = "fast", lr = 0.01 } ]
[bench.matrix]
n = [2, 4]
bins = [0.3, 0.4, 0.5]
"model.width" = [0.5, 1.0]
""")
    m = manifest.load(path, default_registry())
    cells = m.cells
    assert len(cells) == 2 * 2 * 2 * 3 * 2
    assert m.store == tmp_path / "s.sqlite"
    assert {c.loss_bin for c in cells} == {(0.3, 0.4), (0.4, 0.5)}
    assert {c.model.params["width"] for c in cells} == {0.5, 1.0}
    assert {c.label for c in cells} == {"guess_check", "fast"}
    gc = next(c for c in cells if c.optimizer.name == "guess_check")
    assert gc.optimizer.params["target"] == 3 and gc.optimizer.params["radius"] == 1.0  # defaults filled in
    assert len({c.id for c in cells}) == len(cells)


def test_cell_ids_are_stable_and_depend_on_every_parameter(tmp_path):
    text = """
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp", hidden = HIDDEN }
optimizers = [ { name = "guess_check" } ]
matrix = { n = [4] }
"""
    ids = lambda hidden: [c.id for c in manifest.load(write(tmp_path, text.replace("HIDDEN", hidden)), default_registry()).cells]
    assert ids("5") == ids("5")
    assert ids("5") != ids("6")


def test_command_line_overrides_win(tmp_path):
    path = write(tmp_path, """
[suite]
device = "cuda"
store = "a.sqlite"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp" }
optimizers = [ { name = "guess_check" } ]
matrix = { n = [4] }
[[bench]]
name = "other"
task = { name = "slab" }
model = { name = "linear" }
optimizers = [ { name = "guess_check" } ]
matrix = { n = [4] }
""")
    m = manifest.load(path, default_registry(), store=str(tmp_path / "b.sqlite"), device="cpu", only=["other"])
    assert m.device == "cpu" and m.store == tmp_path / "b.sqlite"
    assert [b.name for b in m.benches] == ["other"]
    with pytest.raises(ManifestError, match="did you mean 'other'"):
        manifest.load(path, default_registry(), device="cpu", only=["othr"])


def test_default_suite_manifest_is_valid():
    m = manifest.load(HERE.parent / "benchmarks.toml", default_registry())
    assert {b.name for b in m.benches} >= {"mnist-2class", "kink"}
    assert {c.optimizer.name for c in m.cells} >= {"guess_check", "sgd"}


def test_suite_data_root_applies_while_the_benches_are_checked(tmp_path):
    """A checkpoint named relative to suite.data_root is looked for there already at validation."""
    from zoo import data

    path = write(tmp_path, """
[suite]
data_root = "offline"
[[bench]]
name = "episodes"
report = "episodes"
task = { name = "fewshot", dataset = "omniglot", checkpoint = "backbone.pt" }
model = { name = "linear" }
optimizers = [ { name = "sgd" } ]
matrix = { n = [5] }
""")
    (tmp_path / "offline").mkdir()
    try:
        with pytest.raises(ManifestError) as error:
            manifest.load(path, default_registry())
        assert str(tmp_path / "offline" / "backbone.pt") in str(error.value)
        assert data.data_root() == tmp_path / "offline"
    finally:
        data.set_data_root(None)


def test_seed_range_expands_to_consecutive_seeds(tmp_path):
    path = write(tmp_path, """
[[bench]]
name = "b"
task = { name = "kink" }
model = { name = "mlp" }
optimizers = [ { name = "guess_check" } ]
matrix = { n = [4], seeds = { from = 3, count = 4 } }
""")
    cells = manifest.load(path, default_registry()).cells
    assert [c.seed for c in cells] == [3, 4, 5, 6]


def test_missing_data_root_on_the_command_line_exits_2(tmp_path, capsys):
    path = write(tmp_path, '[[bench]]\nname = "b"\ntask = { name = "kink" }\nmodel = { name = "mlp" }\n'
                           'optimizers = [ { name = "sgd" } ]\nmatrix = { n = [4] }\n')
    assert main(["bench", str(path), "--dry-run", "--data-root", str(tmp_path / "absent")]) == 2
    assert "--data-root" in capsys.readouterr().err


def test_an_optimizer_axis_crosses_only_the_optimizers_that_have_the_parameter(tmp_path, capsys):
    path = write(tmp_path, """
[suite]
store = "s.sqlite"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp", hidden = 4 }
optimizers = [ { name = "guess_check", label = "G&C", target = 2 }, { name = "sgd", label = "SGD", epochs = 2 } ]
[bench.matrix]
n = [4]
seeds = [0, 1]
"optimizer.max_guesses" = [30000, 50000]
""")
    loaded = manifest.load(path, default_registry())
    ids = [c.id for c in loaded.cells]
    assert len(ids) == len(set(ids)) == 2 * 2 + 2  # G&C at two radii, SGD once per seed
    assert {c.axes.get("optimizer.max_guesses") for c in loaded.cells if c.label == "G&C"} == {30000, 50000}
    assert all(c.axes == {} for c in loaded.cells if c.label == "SGD")
    assert loaded.benches[0].varies == {"optimizer.max_guesses": ["G&C"]}
    assert main(["bench", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "axis optimizer.max_guesses varies G&C" in out and "6 cells, 6 to run" in out
    assert len(set(re.findall(r"^  ([0-9a-f]{16}) ", out, re.M))) == 6


def test_a_cell_without_an_axis_is_compared_at_every_value_of_it(tmp_path):
    from zoo import reports, runner
    from zoo.store import Store

    path = write(tmp_path, """
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp", hidden = 4 }
optimizers = [ { name = "guess_check", label = "G&C", target = 2 },
               { name = "sgd", label = "SGD", epochs = 5, init = "default", target = 2, max_models = 4, population = 4 } ]
[bench.matrix]
n = [4]
seeds = [0, 1]
"optimizer.max_guesses" = [30000, 50000]
""")
    loaded = manifest.load(path, default_registry())
    store = Store(loaded.store)
    assert runner.run(loaded, default_registry(), store)["done"] == 6
    tables = reports.tables_for(store.records())
    store.close()
    titles = [t.title for t in tables]
    for guesses in (30000, 50000):  # SGD appears next to G&C at each value, and the difference is computed
        assert f"k: SGD test accuracy % (kink, mlp, optimizer.max_guesses={guesses})" in titles
        assert f"k: G&C − SGD, test accuracy (kink, mlp, optimizer.max_guesses={guesses})" in titles


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_manifest_asking_for_cuda_where_there_is_none_names_its_key(tmp_path):
    path = write(tmp_path, """
[suite]
device = "cuda"
[[bench]]
name = "k"
task = { name = "kink" }
model = { name = "mlp" }
optimizers = [ { name = "guess_check" } ]
matrix = { n = [4] }
""")
    out = run_zoo("bench", path, "--store", tmp_path / "s.sqlite")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "suite.device" in line and str(path) in line and "no CUDA device" in line and "--device cpu" in line
    assert not (tmp_path / "s.sqlite").exists()
    assert run_zoo("bench", path, "--dry-run", "--store", tmp_path / "s.sqlite").returncode == 0  # planning needs no GPU
    flag = run_zoo("bench", path, "--store", tmp_path / "s.sqlite", "--device", "cuda")
    assert flag.returncode == 2 and flag.stderr.strip().startswith("zoo: error: --device cuda"), flag.stderr
