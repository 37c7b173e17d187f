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
