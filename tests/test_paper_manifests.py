"""The manifests of the paper's Tables 2, 3, 6 and the sampling range: valid, at the reference settings."""

from pathlib import Path

import pytest

from conftest import run_zoo
from zoo import data
from zoo.manifest import load
from zoo.registry import default_registry

MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"
NAMES = ["table2", "table3", "width", "range"]
TABLE2_BINS = [(0.30, 0.35), (0.35, 0.40), (0.40, 0.45), (0.45, 0.50), (0.50, 0.55), (0.55, 0.60), (0.60, 0.65)]


@pytest.fixture
def loaded(shared_data):
    def _load(name):
        return load(MANIFESTS / f"{name}.toml", default_registry()).cells

    yield _load
    data.set_data_root(None)


@pytest.mark.parametrize("name", [f"{n}{v}" for n in NAMES for v in ("", "-reduced")])
def test_manifest_validates_with_dry_run_on_the_official_test_sets(name, shared_data):
    out = run_zoo("bench", MANIFESTS / f"{name}.toml", "--dry-run", "--store", "/nonexistent/never-written.sqlite")
    assert out.returncode == 0, out.stderr
    assert "test set: official test set" in " ".join((out.stdout + out.stderr).split())


def _optimizers(cells):
    return {c.optimizer.label: c.optimizer.params for c in cells}


def test_table2_pools_20_seeds_of_10_models_per_cell(loaded):
    cells = loaded("table2")
    lenet = [c for c in cells if c.bench == "table2-lenet"]
    assert {c.n for c in cells} == {2, 4, 8, 16, 32} and {c.loss_bin for c in cells} == set(TABLE2_BINS)
    assert {c.seed for c in cells} == set(range(20)) and {c.model.params["width"] for c in lenet} == {0.5}
    opts = _optimizers(cells)
    assert opts["G&C"]["target"] == 10 and opts["G&C"]["radius"] == 1.0
    sgd = opts["SGD"]
    assert (sgd["lr"], sgd["epochs"], sgd["batch"], sgd["batch_cap"], sgd["init"], sgd["radius"], sgd["steer"]) == (
        0.001, 30, 0, 2, "uniform", 1.0, True)
    linear = opts["linear SGD"]
    assert (linear["lr"], linear["epochs"], linear["batch"], linear["init"]) == (0.1, 20, 2, "regular")
    assert {c.model.name for c in cells if c.optimizer.label == "linear SGD"} == {"linear"}


def test_table3_pools_100_seeds_of_one_model_on_cifar10(loaded):
    cells = loaded("table3")
    assert {c.task.name for c in cells} == {"cifar10"} and {c.n for c in cells} == {2, 4, 8, 16, 24}
    edges = [0.55, 0.57, 0.59, 0.61, 0.63, 0.65, 0.67]
    assert sorted({c.loss_bin for c in cells}) == [pytest.approx((a, b)) for a, b in zip(edges, edges[1:])]
    assert {c.seed for c in cells} == set(range(100))
    opts = _optimizers(cells)
    assert opts["G&C"]["target"] == 1 and opts["SGD"]["target"] == 1 and opts["SGD"]["lr"] == 0.0001


def test_width_sweeps_lenet_from_0_2_to_1_0_at_n_16(loaded):
    cells = loaded("width")
    assert {c.n for c in cells} == {16}
    assert sorted({c.model.params["width"] for c in cells}) == pytest.approx([0.2 + 0.1 * i for i in range(9)])
    assert set(_optimizers(cells)) == {"G&C", "SGD"}


def test_range_draws_both_optimizers_from_the_same_boxes(loaded):
    cells = loaded("range")
    for label in ("G&C", "SGD"):
        assert {c.optimizer.params["radius"] for c in cells if c.optimizer.label == label} == {1.0, 2.0, 5.0}
    assert {c.optimizer.params["init"] for c in cells if c.optimizer.label == "SGD"} == {"uniform"}
