"""One budget for every optimizer of a bench: ``budget_evals`` in forward evaluations, mapped by each optimizer."""

from __future__ import annotations

import pytest

from zoo.errors import ManifestError
from zoo.hookspecs import hookimpl
from zoo.optimizer import UNCAPPED
from zoo.registry import PluginSpec
from zoo.testing import run_manifest

BUDGET = 3000
MANIFEST = f"""
[[bench]]
name = "kink"
report = "side_by_side"
budget_evals = {BUDGET}
task = {{ name = "kink" }}
model = {{ name = "mlp", hidden = 8 }}
optimizers = [
  {{ name = "guess_check", label = "G&C", target = 1000 }},
  {{ name = "sgd", label = "SGD", lr = 0.05, epochs = 20, population = 8, target = 1000 }},
  {{ name = "pattern_search", label = "PS", population = 16, target = 3 }},
  {{ name = "random_greedy", label = "RGS", population = 16 }},
]
matrix = {{ n = [8], seeds = [0, 1] }}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_manifest(MANIFEST, directory=tmp_path_factory.mktemp("budget"))


def test_each_optimizer_maps_the_budget_to_its_own_parameters(run):
    params = {r["label"]: r["spec"]["optimizer"]["params"] for r in run.records}
    assert params["G&C"]["max_guesses"] == BUDGET
    assert params["SGD"]["max_cell_evals"] == BUDGET and params["SGD"]["max_models"] == UNCAPPED
    for label in ("PS", "RGS"):
        assert params[label]["max_cell_evals"] == BUDGET and params[label]["max_runs"] == UNCAPPED
        assert params[label]["max_evals"] == 0  # the per-search cap is the user's, untouched


def test_no_cell_spends_more_than_the_budget_and_unfinished_cells_spend_it_all(run):
    """A target no optimizer can reach makes the budget the only stopping rule: each spends it, none exceeds it."""
    assert run.summary["done"] == 8
    for record in run.records:
        counters = record["metrics"]["counters"]
        spent = counters["forward_evals"]
        assert spent <= BUDGET, record["label"]
        if record["label"] in ("G&C", "SGD"):  # targets of 1,000 models are out of reach here
            assert counters["accepted"] < 1000
            # SGD stops within one minibatch step of the cap: a population of 8 on a quarter of the samples
            assert spent >= BUDGET - 8, record["label"]
        curve = record["metrics"]["trajectory"]
        assert curve["evals"][-1] <= BUDGET


def test_searches_restart_until_the_cell_budget_is_spent(run):
    """With budget_evals, pattern search's searches share one cell budget instead of one search per cell."""
    for record in run.records_of("PS"):
        counters = record["metrics"]["counters"]
        assert counters["tested"] >= 1
        assert counters["accepted"] == 3 or counters["forward_evals"] >= BUDGET - 16


def _manifest(optimizers: str, extra: str = "") -> str:
    return f"""
[[bench]]
name = "b"
budget_evals = 1000
task = {{ name = "kink" }}
model = {{ name = "mlp", hidden = 4 }}
optimizers = [{optimizers}]
matrix = {{ n = [4] {extra} }}
"""


def test_a_budget_key_set_by_hand_as_well_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="'max_guesses' is set both by hand and by the bench's budget_evals"):
        run_manifest(_manifest('{ name = "guess_check", max_guesses = 10 }'), directory=tmp_path)
    with pytest.raises(ManifestError, match="'max_runs' is set both"):
        run_manifest(_manifest('{ name = "pattern_search" }', ', "optimizer.max_runs" = [2, 3]'), directory=tmp_path)


@pytest.mark.parametrize("value", [0, -5, 2.5, "many"])
def test_a_budget_that_is_not_a_positive_integer_is_refused(tmp_path, value):
    text = _manifest('{ name = "guess_check" }').replace("budget_evals = 1000", f"budget_evals = {value!r}".replace("'", '"'))
    with pytest.raises(ManifestError, match="budget_evals.*positive integer"):
        run_manifest(text, directory=tmp_path)


class NoMapping:
    """A third-party optimizer that declares no mapping from forward evaluations."""

    @hookimpl
    def zoo_optimizers(self):
        return [PluginSpec("blind", lambda **kw: None, {"steps": 10})]


def test_an_optimizer_without_a_mapping_is_named(tmp_path):
    with pytest.raises(ManifestError, match="optimizer 'blind' .* cannot map a budget in forward evaluations"):
        run_manifest(_manifest('{ name = "guess_check" }, { name = "blind" }'), NoMapping(), directory=tmp_path)


class BadMapping:
    @hookimpl
    def zoo_optimizers(self):
        return [PluginSpec("broken", lambda **kw: None, {"steps": 10}, eval_budget=lambda evals, params: {"steps": "x"})]


def test_a_mapping_that_fails_its_own_checks_is_reported_not_raised(tmp_path):
    with pytest.raises(ManifestError, match="broken: its mapping of budget_evals = 1000 failed"):
        run_manifest(_manifest('{ name = "broken" }'), BadMapping(), directory=tmp_path)
