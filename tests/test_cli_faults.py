"""Small command-line behaviours: plain log lines, final counters, helpful errors."""

import re
import shutil
from pathlib import Path

import pytest

from zoo.cli import main
from zoo.optimizer import Context
from zoo.registry import default_registry

TINY = Path(__file__).parent / "manifests" / "tiny.toml"


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    shutil.copy(TINY, folder / "tiny.toml")
    text = (folder / "tiny.toml").read_text().replace("n = [4, 8]", "n = [4]").replace("seeds = [0, 1]", "seeds = [0]")
    (folder / "tiny.toml").write_text(text)
    return folder


def test_plain_log_lines_never_wrap_and_show_the_final_counters(tiny_store, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")  # narrower than any line
    assert main(["bench", str(tiny_store / "tiny.toml"), "--format", "json"]) == 0
    err = capsys.readouterr().err.splitlines()
    logged = [line for line in err if line.startswith("[")]
    assert len(logged) == 4
    for i, line in enumerate(logged, 1):  # one whole line per cell, its counters in full, an ETA until the last
        assert re.match(rf"^\[{i}/4\] kink: (G&C|SGD) n=4 bin \(0\.\d, 0\.\d\] seed=0 \(\d+\.\d s; tested [\d,]+ · accepted \d", line)
        assert line.endswith(")") if i == 4 else re.search(r"; ETA \d+:\d\d$", line)
    assert not [line for line in err if line and not line.startswith(("[", "cells", "4 cells run"))]
    assert all("steps" in line for line in logged if "SGD" in line)  # the outcome's counters, not the last live ones


def test_sgd_reports_models_and_epochs_while_it_trains():
    registry = default_registry()
    problem = registry.get("task", "kink").build().sample(8, 0)
    model = registry.get("model", "mlp").build(input_shape=problem.input_shape, num_classes=2, hidden=4)
    spec = registry.get("optimizer", "sgd")
    seen = []
    optimizer = spec.build(**spec.resolve({"epochs": 3, "population": 4, "max_models": 8, "target": 100, "lr": 0.1}))
    optimizer.run(problem, model, Context(seed=0, progress=lambda **counters: seen.append(counters)))
    epochs = [c for c in seen if "epoch" in c]
    assert [c["epoch"] for c in epochs] == ["1/3", "2/3", "3/3"] * 2
    assert [c["models"] for c in epochs] == ["4/8"] * 3 + ["8/8"] * 3


def test_bench_on_a_store_says_it_is_not_a_manifest(tiny_store, capsys):
    assert main(["bench", str(tiny_store / "tiny.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "is not a TOML manifest" in err and "zoo report STORE" in err and "utf-8" not in err


def test_report_bench_has_a_did_you_mean_and_report_takes_a_manifest(tiny_store, capsys):
    assert main(["report", str(tiny_store / "tiny.sqlite"), "--bench", "kinq"]) == 2
    assert "no bench named 'kinq' (did you mean 'kink'?)" in capsys.readouterr().err
    assert main(["report", str(tiny_store / "tiny.toml"), "--format", "markdown"]) == 0
    assert "**kink: G&C − SGD, test accuracy" in capsys.readouterr().out


def test_list_takes_the_plural_it_prints_and_pretrain_device_has_help(capsys):
    assert main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("optimizers") and "guess_check" in out
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    assert "where to train" in " ".join(capsys.readouterr().out.split())
