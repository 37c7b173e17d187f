"""The cost model: guesses and time per Guess & Check entry, from the store's counts or a pilot of the cell's own search."""

from __future__ import annotations

import json
import math

import pytest

from zoo.cli import main

MANIFEST = """
[suite]
store = "r.sqlite"
[[bench]]
name = "cost"
task = { name = "kink" }
model = { name = "mlp", hidden = 4 }
optimizers = [ { name = "guess_check", label = "G&C", target = 5, max_guesses = 200000 },
               { name = "sgd", label = "SGD", epochs = 2, target = 1, max_models = 4 } ]
[bench.matrix]
n = [4, 8]
seeds = [0, 1]
"""


def estimate(capsys, manifest, *extra):
    capsys.readouterr()
    assert main(["bench", str(manifest), "--dry-run", "--estimate", "--format", "json", *extra]) == 0
    out = capsys.readouterr()
    (table,) = json.loads(out.out)
    return {row[0]: dict(zip(table["columns"], row)) for row in table["rows"]}, out.err


def test_estimates_rest_on_the_stored_counts_with_their_interval(tmp_path, capsys):
    manifest = tmp_path / "m.toml"
    manifest.write_text(MANIFEST)
    assert main(["bench", str(manifest)]) == 0
    rows, err = estimate(capsys, manifest, "--pilot-seconds", "0", "--gpus", "8", "--gpu-tflops", "2")
    assert "4 cells of other optimizers have no estimate" in err
    from zoo.store import Store

    store = Store(tmp_path / "r.sqlite", create=False)
    try:
        records = [r for r in store.records() if r["label"] == "G&C"]
    finally:
        store.close()
    for n in (4, 8):
        mine = [r["metrics"] for r in records if r["n"] == n]
        tested, accepted = (sum(m["acceptance"][k] for m in mine) for k in ("tested", "accepted"))
        seconds = sum(m["wall_time"] for m in mine)
        row = rows[n]
        assert row["from"] == f"store: {accepted:,} / {tested:,}" and row["seeds"] == 2
        need = row["guesses per cell"]
        assert need["expected"] == pytest.approx(5 * tested / accepted)
        assert need["ci_low"] < need["expected"] < need["ci_high"]  # the share's 95% interval, spread between seeds included
        here = row["this machine"]
        assert here["expected"] == pytest.approx(2 * need["expected"] * seconds / tested)  # two seeds at the measured rate
        one, many = row["1 GPU"], row["8 GPUs"]
        assert many["expected"] == pytest.approx(one["expected"] / 8) and many["within_reach"] == "yes"
        assert row["within max_guesses"] == "yes"
    assert not (tmp_path / "r.sqlite-wal").exists()  # read-only


def test_a_pilot_prices_an_entry_the_store_does_not_hold_and_writes_nothing(tmp_path, capsys):
    manifest = tmp_path / "m.toml"
    manifest.write_text(MANIFEST.replace("n = [4, 8]", "n = [16]").replace("max_guesses = 200000", "max_guesses = 10"))
    rows, err = estimate(capsys, manifest, "--pilot-seconds", "0.5")
    assert "pilot: cost: G&C n=16 seed=0" in err
    row = rows[16]
    assert row["from"].startswith("pilot: ")
    share = row["log10 accepted share [95% CI]"]
    assert share["tested"] > 0 and share["ci_high"] > -math.inf
    need = row["guesses per cell"]
    assert need["ci_low"] > 10 and row["within max_guesses"] == "no"  # a budget of 10 guesses cannot fill 5 models
    assert list(tmp_path.iterdir()) == [manifest]


def test_estimate_options_are_checked(tmp_path, capsys):
    manifest = tmp_path / "m.toml"
    manifest.write_text(MANIFEST)
    assert main(["bench", str(manifest), "--estimate"]) == 2
    assert "--estimate goes with --dry-run" in capsys.readouterr().err
    assert main(["bench", str(manifest), "--dry-run", "--estimate", "--gpus", "0"]) == 2
    assert "--gpus >= 1" in capsys.readouterr().err
