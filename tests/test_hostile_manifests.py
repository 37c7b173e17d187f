"""Manifests from strangers: each hostile input gets exit 2 and one line naming file, line and key, before any cell."""

from __future__ import annotations

import pytest

from zoo.cli import main

VALID = """[suite]
store = "r.sqlite"
device = "cpu"

[[bench]]
name = "first"
task = { name = "kink" }
model = { name = "mlp", hidden = 3 }
optimizers = [ { name = "guess_check", label = "G&C", target = 1, max_guesses = 100 } ]
[bench.matrix]
n = [4]
seeds = [0]

[[bench]]
name = "second"
task = { name = "kink" }
model = { name = "mlp", hidden = 3 }
optimizers = [ { name = "sgd", lr = 0.1, epochs = 2 } ]
[bench.matrix]
n = [4]
seeds = [0]
"""


def zoo(capsys, *args):
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, tmp_path, text, *phrases, args=()):
    manifest = tmp_path / "m.toml"
    manifest.write_text(text)
    code, _, err = zoo(capsys, "bench", manifest, "--dry-run", *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err, err
    assert not (tmp_path / "r.sqlite").exists()
    return err


def second(old, new):
    """VALID with a change in the second bench only."""
    head, tail = VALID.split('name = "second"')
    assert old in tail
    return head + 'name = "second"' + tail.replace(old, new, 1)


def test_the_valid_manifest_is_valid(capsys, tmp_path):
    (tmp_path / "m.toml").write_text(VALID)
    code, out, err = zoo(capsys, "bench", tmp_path / "m.toml", "--dry-run")
    assert code == 0 and "2 cells, 2 to run" in out + err, err


@pytest.mark.parametrize("old, new, phrases", [
    ("[bench.matrix]\nn = [4]\nseeds = [0]\n", "matrix = 3\n", ["bench[1].matrix", "expected a table"]),
    ('name = "sgd"', 'name = "sgd", label = ["a", "b"]', ["bench[1].optimizers[0].label", "expected a string"]),
    ('name = "sgd"', 'name = "sgd", label = { x = 1 }', ["label", "expected a string"]),
    ('task = { name = "kink" }', 'report = ["bins"]\ntask = { name = "kink" }', ["bench[1].report", "expected a string"]),
    ('task = { name = "kink" }', 'report = { a = 1 }\ntask = { name = "kink" }', ["bench[1].report"]),
    ("lr = 0.1", "lr = nan", ["bench[1].optimizers[0].lr", "is nan, not a finite number"]),
    ("lr = 0.1", "lr = -0.1", ["bench[1].optimizers[0].lr", "must be >= 0"]),
    ("lr = 0.1", "lr = 0.1, momentum = -0.5", ["momentum", "must be >= 0"]),
    ("lr = 0.1", "lr = 0.1, radius = inf", ["radius", "not a finite number"]),
    ("lr = 0.1", "lr = 0.1, radius = 0.0", ["radius", "must be > 0"]),
    ("hidden = 3", "hidden = -3", ["bench[1].model.hidden", "must be >= 0"]),
    ('name = "kink"', 'name = "kink", margin = -inf', ["bench[1].task.margin", "not a finite number"]),
    ("seeds = [0]", "seeds = [9223372036854775808]", ["bench[1].matrix.seeds[0]", "beyond the integer range"]),
    ("seeds = [0]", "seeds = { from = 9223372036854775800, count = 100 }", ["bench[1].matrix.seeds", "2^63"]),
    ("seeds = [0]", "seeds = [0]\nbins = [0.1, nan]", ["bench[1].matrix.bins[1]", "not a finite number"]),
    ("seeds = [0]", 'seeds = [0]\n"optimizer.momentum" = [0.5, -1]', ["optimizer.momentum", "must be >= 0"]),
    ("seeds = [0]", "seeds = { from = 0, count = 1000000000 }", ["over the limit of 1,000,000", "--max-cells"]),
    ("n = [4]", "n = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]\nbins = [" + ", ".join(f"0.{i:03d}" for i in range(1, 1000)) + "]\n"
     "\"optimizer.momentum\" = [" + ", ".join(f"0.{i:03d}" for i in range(1, 200)) + "]", ["over the limit of 1,000,000"]),
], ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_a_mistake_in_the_second_bench_is_refused_at_its_own_line(capsys, tmp_path, old, new, phrases):
    text = second(old, new)
    err = refused(capsys, tmp_path, text, *phrases)
    line = int(err.split("m.toml:")[1].split(":")[0])
    assert line > text.splitlines().index('name = "second"'), err  # never the first bench's line


@pytest.mark.parametrize("text, phrases", [
    (VALID.replace("[suite]", "x = " + "[" * 50_000 + "]" * 50_000 + "\n[suite]"), ["too deeply"]),
    (VALID.replace("[suite]", "x = " + "[" * 40 + "]" * 40 + "\n[suite]"), ["more than 32 deep"]),
    (VALID.replace('store = "r.sqlite"', 'store = "m.toml/r.sqlite"'), ["suite.store", "which is a file"]),
    (VALID.replace('store = "r.sqlite"', 'store = "."'), ["suite.store", "is a folder"]),
    (VALID.replace('store = "r.sqlite"', 'store = "a\\u0000b"'), ["suite.store", "NUL"]),
    (VALID.replace("[[bench]]", "[defaults]\nmatrix = 5\n\n[[bench]]", 1), ["defaults.matrix", "expected a table"]),
    (VALID.replace("lr = 0.1", "lr = 1e400"), ["lr", "not a finite number"]),
])
def test_structural_and_path_mistakes_are_one_line(capsys, tmp_path, text, phrases):
    refused(capsys, tmp_path, text, *phrases)


def test_max_cells_raises_the_limit(capsys, tmp_path):
    text = second("seeds = [0]", "seeds = { from = 0, count = 20 }")
    refused(capsys, tmp_path, text, "over the limit of 10", args=("--max-cells", "10"))
    code, _, err = zoo(capsys, "bench", tmp_path / "m.toml", "--dry-run", "--max-cells", "21")
    assert code == 0, err


def test_a_data_root_from_the_environment_that_does_not_exist_is_an_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_ROOT", str(tmp_path / "nowhere"))
    refused(capsys, tmp_path, VALID, "ZOO_DATA_ROOT=", "no such folder")


def test_messages_carrying_newlines_and_control_characters_stay_one_line(capsys, tmp_path):
    err = refused(capsys, tmp_path, VALID.replace('name = "sgd"', 'name = "sg\\nd\\u001b[31m"'), "unknown optimizer")
    assert "\x1b" not in err and "sg\\nd" in err


def test_missing_data_is_found_before_any_cell(capsys, tmp_path):
    text = VALID.replace('task = { name = "kink" }', 'task = { name = "cifar10", source = "torchvision" }')
    text = text.replace('model = { name = "mlp", hidden = 3 }', 'model = { name = "linear" }')
    (tmp_path / "m.toml").write_text(text)
    code, _, err = zoo(capsys, "bench", tmp_path / "m.toml", "--data-root", tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no CIFAR-10 under data root" in err, err
