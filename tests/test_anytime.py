"""Anytime curves: every optimizer traces its models through ctx.trace, bounded, without changing results;
test accuracy on the curve only where the bench asks for it."""

from __future__ import annotations

import pytest

from zoo.optimizer import Context
from zoo.registry import Registry, plugin_manager
from zoo.testing import run_manifest
from zoo.trajectory import FIELDS, TRAIN_FIELDS, Trajectory

MANIFEST = """
[[bench]]
name = "kink"
anytime_test_accuracy = true
task = { name = "kink" }
model = { name = "mlp", hidden = 8 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 3, max_guesses = 200000 },
  { name = "sgd", label = "SGD", lr = 0.1, epochs = 40, population = 8, target = 3 },
  { name = "pattern_search", label = "PS", population = 16, max_evals = 4000 },
  { name = "random_greedy", label = "RGS", population = 16, max_evals = 4000 },
]
matrix = { n = [8], bins = [0.3, 0.9], seeds = [0, 1] }
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_manifest(MANIFEST, directory=tmp_path_factory.mktemp("anytime"))


def test_every_builtin_optimizer_records_a_bounded_trajectory(run):
    assert run.summary["done"] == 8
    for record in run.records:
        curve = record["metrics"]["trajectory"]
        assert set(curve) == set(FIELDS)
        evals = curve["evals"]
        assert 1 <= len(evals) <= 48 and all(len(curve[f]) == len(evals) for f in FIELDS)
        assert evals == sorted(set(evals)), record["label"]
        assert all(0 <= a <= 1 for a in curve["test_acc"] + curve["train_acc"])
        counters = record["metrics"]["counters"]
        # G&C has no path: one point, its accepted guesses at their cost; a search whose start already fits neither
        if record["label"] != "G&C" and counters["forward_evals"] > 1:
            assert len(evals) >= 3, record["label"]
        assert evals[-1] <= counters.get("forward_evals", counters.get("tested"))


def test_without_anytime_test_accuracy_the_curve_is_the_same_less_its_test_column(run, tmp_path):
    """The default records train loss and accuracy at the same points, and the cells find the same models."""
    plain = run_manifest(MANIFEST.replace("anytime_test_accuracy = true\n", ""), directory=tmp_path)
    assert plain.summary["done"] == 8
    with_test = {r["id"]: r["metrics"] for r in run.records}
    for record in plain.records:
        curve, other = record["metrics"]["trajectory"], with_test[record["id"]]  # the key leaves the cell's id alone
        assert tuple(curve) == TRAIN_FIELDS
        assert {f: curve[f] for f in TRAIN_FIELDS if f != "seconds"} == \
               {f: other["trajectory"][f] for f in TRAIN_FIELDS if f != "seconds"}, record["label"]
        assert record["metrics"]["test_acc_values"] == other["test_acc_values"]
        assert record["metrics"]["counters"]["forward_evals"] == other["counters"]["forward_evals"]


def test_final_point_is_the_reported_model(run):
    """Pattern search reports the point it ended on: the curve's last point is that model."""
    for record in run.records_of("PS"):
        curve, metrics = record["metrics"]["trajectory"], record["metrics"]
        if metrics["models"]:
            assert curve["test_acc"][-1] == pytest.approx(metrics["test_acc"]["mean"])
            assert curve["train_loss"][-1] == pytest.approx(metrics["train_loss"]["mean"], rel=1e-5)
            assert curve["evals"][-1] == metrics["counters"]["forward_evals"]


@pytest.mark.parametrize("name, params", [("sgd", {"lr": 0.1, "epochs": 20, "population": 4, "target": 2}),
                                          ("pattern_search", {"population": 16, "max_evals": 2000}),
                                          ("guess_check", {"target": 2})])
def test_tracing_does_not_change_the_outcome(name, params):
    """The same cell with and without a trajectory: the same models, counters and losses."""
    registry = Registry(plugin_manager(entry_points=False))
    problem = registry.get("task", "kink").build().sample(8, 3)
    model = registry.get("model", "mlp").build(input_shape=problem.input_shape, num_classes=2, hidden=8)
    spec = registry.get("optimizer", name)
    plain = spec.build(**spec.resolve(params)).run(problem, model, Context(seed=11, loss_bin=(0.3, 0.9)))
    trajectory = Trajectory(problem, model)
    traced = spec.build(**spec.resolve(params)).run(problem, model, Context(seed=11, loss_bin=(0.3, 0.9),
                                                                            trajectory=trajectory))
    assert trajectory.points
    assert traced.test_acc == plain.test_acc and traced.train_loss == plain.train_loss
    assert {k: v for k, v in traced.counters.items() if k != "seconds"} == \
           {k: v for k, v in plain.counters.items() if k != "seconds"}


def test_trajectory_stays_bounded_and_keeps_the_final_point():
    registry = Registry(plugin_manager(entry_points=False))
    problem = registry.get("task", "kink").build().sample(8, 0)
    model = registry.get("model", "mlp").build(input_shape=problem.input_shape, num_classes=2, hidden=4)
    theta = model.init_uniform(1, 1.0, None)
    trajectory = Trajectory(problem, model, max_points=10)
    for evals in range(1, 100_000, 7):
        trajectory.record(evals, theta)
    trajectory.record(100_000, theta, final=True)
    evals = trajectory.as_dict()["evals"]
    assert len(evals) == 10 and evals[-1] == 100_000 and evals == sorted(evals)


@pytest.mark.parametrize("test_column", [True, False])
def test_anytime_figure_is_drawn(run, tmp_path, test_column):
    pytest.importorskip("matplotlib")
    from zoo.plotting.anytime import anytime

    records = run.records
    if not test_column:  # curves recorded without test accuracy: the train panels alone
        records = [{**r, "metrics": {**r["metrics"], "trajectory": {k: v for k, v in r["metrics"]["trajectory"].items()
                                                                    if k != "test_acc"}}} for r in records]
    paths = anytime(None, records, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.stat().st_size > 1000 for p in paths)
