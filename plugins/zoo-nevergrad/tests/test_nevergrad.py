"""The nevergrad optimizers, installed as a package, on small real problems.

Every test goes through zoo's registry, so it also checks that the entry
point of the installed distribution is found (``pip install -e
plugins/zoo-nevergrad`` first).
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

from zoo import manifest
from zoo.evaluate import fit_and_loss
from zoo.optimizer import Context
from zoo.registry import Registry, plugin_manager

NAMED = ("ng_cma", "ng_oneplusone", "ng_de", "ng_random")

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def registry():
    return Registry(plugin_manager())


@pytest.fixture(scope="module")
def kink(registry):
    """Eight 2-D points split by a V, a 42-parameter MLP: not linearly separable, quick to evaluate."""
    problem = registry.get("task", "kink").build().sample(8, 0)
    model = registry.get("model", "mlp").build(input_shape=problem.input_shape, num_classes=2, hidden=8)
    return problem, model


def run(registry, name, problem, model, loss_bin=None, seed=0, **params):
    spec = registry.get("optimizer", name)
    return spec.build(**spec.resolve(params)).run(problem, model, Context(seed=seed, loss_bin=loss_bin, keep_params=True))


def test_entry_point_names_the_package(registry):
    origin = f"zoo-nevergrad {version('zoo-nevergrad')}"
    for name in (*NAMED, "ng_fullcma", "ng"):
        assert registry.get("optimizer", name).origin == origin
    assert not [e for e in registry.load_errors if e[0].startswith("zoo-nevergrad")]


@pytest.mark.parametrize("name", NAMED)
def test_reports_only_accepted_models_and_counts_its_work(registry, kink, name):
    problem, model = kink
    out = run(registry, name, problem, model, target=2, budget=3000)
    assert out.counters["tested"] == 2
    assert out.counters["accepted"] == len(out.test_acc) >= 1
    assert out.counters["forward_evals"] <= 2 * 3000
    assert all(a == 1.0 for a in out.train_acc)
    assert all(0.0 <= a <= 1.0 for a in out.test_acc)
    # the reported rows are real models: re-evaluating them gives the reported fit and loss
    acc, loss = fit_and_loss(model, out.params, problem.x_train, problem.y_train)
    assert acc.tolist() == out.train_acc
    assert torch.allclose(loss, torch.tensor(out.train_loss))
    assert out.params.abs().max() <= 1.0  # searched inside the box [-radius, radius]


def test_loss_bin_is_part_of_acceptance(registry, kink):
    problem, model = kink
    out = run(registry, "ng_de", problem, model, loss_bin=(0.55, 0.62), target=2, budget=3000)
    assert out.counters["accepted"] >= 1
    assert all(0.55 < loss <= 0.62 for loss in out.train_loss)


def test_budget_is_counted_in_evaluations_and_one_pass_per_ask_batch(registry, kink):
    problem, model = kink
    passes = []

    class Counting(type(model)):
        def forward(self, theta, x):
            passes.append(theta.shape[0])
            return super().forward(theta, x)

    counted = Counting(problem.input_shape, 2, hidden=8)
    # a bin no model of this size can reach: every search spends its whole budget
    out = run(registry, "ng_cma", problem, counted, loss_bin=(0.0, 0.01), target=2, budget=100, population=32)
    assert out.counters == {"forward_evals": 200, "tested": 2, "accepted": 0}
    assert out.test_acc == [] and out.params is None
    assert passes == [32, 32, 32, 4] * 2  # each ask-batch is one population forward pass, the last one cut to the budget


def test_same_seed_same_models_other_seed_other_models(registry, kink):
    problem, model = kink
    a = run(registry, "ng_de", problem, model, target=2, budget=2000, seed=3)
    b = run(registry, "ng_de", problem, model, target=2, budget=2000, seed=3)
    c = run(registry, "ng_de", problem, model, target=2, budget=2000, seed=4)
    assert a.counters == b.counters and a.train_loss == b.train_loss and len(a.train_loss) >= 1
    assert a.counters != c.counters or a.train_loss != c.train_loss


def test_any_nevergrad_algorithm_by_name_on_mnist(registry):
    problem = registry.get("task", "mnist").build(classes="pair", source="embedded").sample(4, 0)
    model = registry.get("model", "linear").build(input_shape=problem.input_shape, num_classes=2)
    out = run(registry, "ng", problem, model, algorithm="PSO", target=2, budget=1000)
    assert out.counters["accepted"] >= 1 and out.params.shape[1] == model.num_params


def test_unknown_algorithm_is_named_with_a_suggestion(registry):
    with pytest.raises(ValueError, match=r"no optimizer 'OnePlusOn'.*did you mean 'OnePlusOne'"):
        registry.get("optimizer", "ng").build(algorithm="OnePlusOn")


def test_readme_shows_the_comparison_manifest_and_it_is_valid(registry):
    here = Path(__file__).resolve().parents[1]
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", (here / "README.md").read_text(), re.S)
    assert blocks == [("compare.toml", (here / "compare.toml").read_text())]
    loaded = manifest.load(here / "compare.toml", registry)  # names, parameters and task/model fit all checked
    labels = {cell.label for cell in loaded.cells}
    assert {"G&C", "PS", "SGD", "CMA-ES", "(1+1)-ES", "DE", "random search"} == labels
    assert len(loaded.cells) == 7 * 2 * 2


def test_equal_budget_manifest_gives_every_optimizer_the_same_budget(registry):
    here = Path(__file__).resolve().parents[1]
    loaded = manifest.load(here / "equal-budget.toml", registry)
    params = {cell.label: cell.optimizer.params for cell in loaded.cells}
    assert params["G&C"]["max_guesses"] == params["SGD"]["max_cell_evals"] == params["PS"]["max_cell_evals"] == 100_000
    assert params["(1+1)-ES"]["budget"] * params["(1+1)-ES"]["target"] == 100_000


def test_a_bench_budget_is_shared_among_the_searches(tmp_path):
    """``budget_evals`` gives each of the cell's ``target`` searches an equal share; the cell never spends more."""
    from zoo.testing import run_manifest

    text = """
[[bench]]
name = "b"
budget_evals = 900
task = { name = "kink" }
model = { name = "mlp", hidden = 8 }
optimizers = [ { name = "ng_oneplusone", target = 4, population = 8 }, { name = "guess_check", target = 2 } ]
matrix = { n = [8] }
"""
    result = run_manifest(text, directory=tmp_path, entry_points=True)  # the installed package's entry point
    ng = result.records_of("ng_oneplusone")[0]
    assert ng["spec"]["optimizer"]["params"]["budget"] == 225
    assert ng["metrics"]["counters"]["forward_evals"] <= 900
    assert result.records_of("guess_check")[0]["spec"]["optimizer"]["params"]["max_guesses"] == 900
