"""``zoo speed`` runs both engines side by side and reports their ratio; bad input exits with 2."""

from __future__ import annotations

import json

from conftest import run_zoo


def test_speed_reports_both_engines_and_the_ratio(shared_data):
    done = run_zoo("speed", "--n", "2", "--seconds", "0.1", "--rounds", "1", "--format", "json", "--data-root", shared_data)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (result,) = report["results"]
    assert result["n"] == 2 and set(result["best"]) == {"reference", "fast, torch RNG", "fast"}
    assert all(rate > 0 for rate in result["best"].values())
    assert result["ratio"] == result["best"]["fast"] / result["best"]["reference"]


def test_speed_rejects_bad_input():
    done = run_zoo("speed", "--n", "1")
    assert done.returncode == 2 and "--n >= 2" in done.stderr


def test_speed_measures_the_cifar10_lenet_and_the_toys_mlp(shared_data):
    done = run_zoo("speed", "--task", "cifar10", "kink", "--n", "2", "--seconds", "0.05", "--rounds", "1", "--format", "json",
                   "--data-root", shared_data)
    assert done.returncode == 0, done.stderr
    cifar, kink = json.loads(done.stdout)["results"]
    assert (cifar["task"], cifar["model"], kink["task"], kink["model"]) == ("cifar10", "LeNet-0.5", "kink", "MLP-20")
    assert all(rate > 0 for result in (cifar, kink) for rate in result["best"].values())


def test_search_speed_times_the_reference_design_and_zoo_on_the_same_search(shared_data):
    done = run_zoo("speed", "--search", "--optimizer", "pattern_search", "--task", "mnist", "--n", "100", "--seconds", "0.1",
                   "--rounds", "1", "--format", "json", "--data-root", shared_data)
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert (result["optimizer"], result["task"], result["n"], result["candidates"]) == ("pattern_search", "mnist", 100, 99)
    for engine in ("reference", "fast"):
        assert result["best"][engine] > 0 and 0 < result["steps"][engine][0] <= result["rounds"][engine]
    assert result["ratio"] == result["best"]["fast"] / result["best"]["reference"]


def test_search_speed_rejects_the_toy_task():
    done = run_zoo("speed", "--search", "--task", "kink")
    assert done.returncode == 2 and "--task kink" in done.stderr and "Traceback" not in done.stderr


def test_sgd_speed_times_the_reference_design_and_zoo_on_the_same_steps(shared_data):
    done = run_zoo("speed", "--sgd", "--task", "mnist", "cifar10", "--n", "4", "--models", "8", "--seconds", "0.05",
                   "--rounds", "1", "--format", "json", "--data-root", shared_data)
    assert done.returncode == 0, done.stderr
    mnist, cifar = json.loads(done.stdout)["results"]
    assert (mnist["task"], mnist["lr"], mnist["bin"], cifar["task"], cifar["lr"]) == ("mnist", 1e-3, [0.30, 0.35], "cifar10", 1e-4)
    for result in (mnist, cifar):
        assert (result["n"], result["models"], result["batch"], result["steps_per_epoch"]) == (4, 8, 2, 2)
        assert set(result["best"]) == {"reference", "autograd", "fast"} and all(v > 0 for v in result["best"].values())
        assert result["ratio"]["fast"] == result["best"]["fast"] / result["best"]["reference"]
        assert result["epochs_per_second"]["fast"] == result["best"]["fast"] / 2


def test_sgd_speed_rejects_the_toy_task_and_an_empty_population():
    done = run_zoo("speed", "--sgd", "--task", "kink")
    assert done.returncode == 2 and "--task kink" in done.stderr and "Traceback" not in done.stderr
    done = run_zoo("speed", "--sgd", "--models", "0")
    assert done.returncode == 2 and "--models" in done.stderr and "Traceback" not in done.stderr


def test_targets_measure_every_figure_in_one_run_and_judge_each(shared_data):
    done = run_zoo("speed", "--targets", "--optimizer", "pattern_search", "--models", "4", "--seconds", "0.02",
                   "--rounds", "1", "--format", "json", "--data-root", shared_data)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (gc,) = report["guess_check"]
    assert (gc["task"], gc["n"], gc["model"]) == ("mnist", 16, "LeNet-0.5")
    assert [(r["task"], r["n"]) for r in report["search"]] == [("mnist", 100), ("mnist", 1000), ("cifar10", 100), ("cifar10", 1000)]
    assert [(r["task"], r["n"]) for r in report["sgd"]] == [("mnist", 2), ("mnist", 16), ("cifar10", 2), ("cifar10", 16)]
    assert [r["optimizer"] for r in report["load"]] == ["sgd", "guess_check"]
    figures = ([gc["best"]["fast"]] + [r["ratio"] for r in report["search"]] + [r["ratio"]["fast"] for r in report["sgd"]]
               + [r["ratio"] for r in report["load"]])
    rows = report["targets"]
    assert [row["value"] for row in rows] == figures
    for row in rows:  # the first nine are floors, the load ratios ceilings
        assert row["met"] == (row["value"] < row["limit"] if "loaded / idle" in row["measurement"] else row["value"] >= row["limit"])
    assert [row["limit"] for row in rows] == [150_000] + [50.0] * 4 + [3.0] * 4 + [10.0] * 2


def test_speed_measures_one_thing_at_a_time():
    done = run_zoo("speed", "--search", "--sgd")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "one of --search, --sgd" in done.stderr
