"""Poisoned SGD and poisoned Guess & Check, and the poisoning toy."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from zoo.metrics import cell_metrics, clopper_pearson
from zoo.optimizer import Context
from zoo.evaluate import fit_and_loss
from zoo.optimizers.poisoned import PoisonedSGD, poisoned_problem, wrong_labels
from zoo.registry import default_registry
from zoo.task import Problem


def build(kind, name, **params):
    spec = default_registry().get(kind, name)
    return spec.build(**spec.resolve(params))


def build_model(name, problem_or_shape, **params):
    shape = problem_or_shape if isinstance(problem_or_shape, tuple) else problem_or_shape.input_shape
    spec = default_registry().get("model", name)
    return spec.build(input_shape=shape, num_classes=2, **spec.resolve(params))


def run(name, problem, model, seed=0, keep_params=False, **params):
    return build("optimizer", name, **params).run(problem, model, Context(seed=seed, keep_params=keep_params))


@pytest.fixture(autouse=True)
def one_thread():
    """Small models run faster on one thread, and the CPU is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_wrong_labels_move_every_class():
    assert wrong_labels(torch.tensor([0, 1, 1, 0]), 2).tolist() == [1, 0, 0, 1]
    y = torch.arange(5)
    assert wrong_labels(y, 5).tolist() == [1, 2, 3, 4, 0]
    assert bool((wrong_labels(y, 5) != y).all())


def test_poisoned_problem_repeats_training_set_and_flips_poison_points():
    x_test = torch.arange(12.0).view(6, 2)
    problem = Problem(torch.ones(2, 2), torch.tensor([0, 1]), x_test, torch.tensor([0, 1, 2, 0, 1, 2]), 3)
    poisoned = poisoned_problem(problem, poison=4, repeat=3)
    assert poisoned.y_train.tolist() == [0, 1] * 3 + [1, 2, 0, 1]
    assert torch.equal(poisoned.x_train[6:], x_test[:4])
    assert torch.equal(poisoned.x_test, x_test) and torch.equal(poisoned.y_test, problem.y_test)
    assert len(poisoned_problem(problem, poison=0).y_train) == 2 + 6  # 0 takes the whole test set
    with pytest.raises(ValueError, match="poison must lie in 0..6"):
        poisoned_problem(problem, poison=7)


def test_registered_with_reference_defaults():
    registry = default_registry()
    sgd = registry.get("optimizer", "poisoned_sgd").params
    assert (sgd["lr"], sgd["batch"], sgd["epochs"], sgd["repeat"], sgd["poison"]) == (0.001, 400, 40_000, 10, 0)
    gc = registry.get("optimizer", "poisoned_guess_check").params
    assert set(registry.get("optimizer", "guess_check").params) < set(gc) and gc["poison"] == 5


def test_poisoned_sgd_fits_training_set_but_fails_the_test_set_on_mnist(mnist_root):
    problem = build("task", "mnist", classes=[3, 8], source="folder").sample(8, seed=0)
    problem = replace(problem, x_test=problem.x_test[:300], y_test=problem.y_test[:300])
    model = build_model("mlp", problem, hidden=32)
    common = dict(lr=0.05, batch=400, epochs=300, init="default", population=4, target=4, max_models=4)
    clean = run("sgd", problem, model, **common)
    poisoned = run("poisoned_sgd", problem, model, **common)
    assert len(poisoned.test_acc) == 4 and poisoned.counters["poison_points"] == 300
    assert poisoned.train_acc == [1.0] * 4  # the clean training set, not the poisoned one
    assert np.mean(clean.test_acc) > 0.65
    assert np.mean(poisoned.test_acc) < np.mean(clean.test_acc) - 0.5


def test_poisoned_sgd_accepts_on_the_clean_training_set_as_the_reference_does(mnist_root):
    """After 30 epochs the models fit the clean points but not yet the 300 poison points."""
    problem = build("task", "mnist", classes=[3, 8], source="folder").sample(8, seed=0)
    problem = replace(problem, x_test=problem.x_test[:300], y_test=problem.y_test[:300])
    model = build_model("mlp", problem, hidden=32)
    common = dict(lr=0.05, batch=400, epochs=30, init="default", population=4, target=4, max_models=4)
    clean = run("poisoned_sgd", problem, model, keep_params=True, **common)
    strict = run("poisoned_sgd", problem, model, accept="poisoned", **common)
    assert clean.train_acc == [1.0] * 4 and clean.counters["accepted"] == 4
    poisoned = poisoned_problem(problem, poison=0, repeat=10)
    fits_poisoned = fit_and_loss(model, clean.params, poisoned.x_train, poisoned.y_train)[0]
    assert bool((fits_poisoned < 1).all()) and clean.counters["fit_poisoned"] == 0
    assert strict.test_acc == [] and (strict.counters["tested"], strict.counters["accepted"]) == (4, 0)
    assert PoisonedSGD(epochs=40_000).check_every == 401 and PoisonedSGD(epochs=1000, check_every=5).check_every == 5


def two_points(poison_x):
    """Train (0,0) as class 1; the single test point ``poison_x`` is class 1 too."""
    return Problem(torch.zeros(1, 2), torch.tensor([1]), torch.tensor([poison_x]), torch.tensor([1]), 2)


def test_poisoned_guess_check_acceptance_rate_matches_the_analytic_volume():
    # A 2-D linear model predicts class 1 at x when d.x + c > 0, with c = b1 - b0 and
    # d = w1 - w0; each is a difference of two U[-1, 1] draws, so symmetric and
    # independent. Fitting (0,0) needs c > 0: volume 1/2. Also getting (1,0) wrong
    # needs d1 < -c, i.e. d1' > c > 0 for d1' = -d1: volume 1/4 * 1/2 = 1/8.
    problem = two_points([1.0, 0.0])
    model = build_model("linear", (2,))
    budget = dict(max_guesses=40_000, target=40_000, batch=4096)
    for name, volume, extra in (("guess_check", 1 / 2, {}), ("poisoned_guess_check", 1 / 8, {"poison": 1})):
        outcome = run(name, problem, model, keep_params=True, **budget, **extra)
        metrics = cell_metrics(outcome, wall_time=1.0)["acceptance"]
        assert metrics["tested"] == 40_000 and metrics["accepted"] == len(outcome.test_acc)
        assert metrics["ci_low"] < volume < metrics["ci_high"]
        assert metrics["ci_high"] - metrics["ci_low"] < 0.02
        logits = model.forward(outcome.params, torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
        assert bool((logits[:, 0].argmax(-1) == 1).all())  # every accepted model fits the training point
        if extra:
            assert bool((logits[:, 1].argmax(-1) == 0).all()) and outcome.test_acc == [0.0] * len(outcome.test_acc)


def test_poisoned_guess_check_reports_the_upper_bound_when_nothing_is_accepted():
    problem = two_points([0.0, 0.0])  # the poison point is the training point: no model can do both
    model = build_model("linear", (2,))
    outcome = run("poisoned_guess_check", problem, model, max_guesses=5000, batch=1024, poison=1)
    assert outcome.test_acc == [] and outcome.params is None
    acceptance = cell_metrics(outcome, wall_time=1.0)["acceptance"]
    assert (acceptance["tested"], acceptance["accepted"], acceptance["ci_low"]) == (5000, 0, 0.0)
    assert acceptance["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 5000), rel=1e-6)
    assert acceptance["ci_high"] == clopper_pearson(0, 5000)[1]


def test_poison_toy_places_test_points_apart_and_is_reproducible():
    task = build("task", "poison_toy")
    problem = task.sample(11, seed=0)
    assert problem.x_train.shape == (11, 2) and problem.x_test.shape == (5, 2)
    for x, y in ((problem.x_train, problem.y_train), (problem.x_test, problem.y_test)):
        assert torch.equal(y, (x[:, 0] > 0).long()) and bool((x[:, 0].abs() >= 0.1).all())
    gaps = torch.cdist(problem.x_test, torch.cat([problem.x_train, problem.x_test]))
    assert float(gaps[gaps > 0].min()) >= 0.3
    assert torch.equal(task.sample(11, seed=0).x_test, problem.x_test)
    assert not torch.equal(task.sample(11, seed=1).x_test, problem.x_test)


def test_poisoned_sgd_on_the_toy_gets_every_test_point_wrong():
    problem = build("task", "poison_toy").sample(11, seed=0)
    model = build_model("mlp", problem, hidden=50)
    params = dict(lr=0.3, init="default", epochs=3000, repeat=1, population=2, target=2, max_models=2)
    outcome = run("poisoned_sgd", problem, model, keep_params=True, **params)
    assert outcome.train_acc == [1.0, 1.0] and outcome.test_acc == [0.0, 0.0]
    assert outcome.params.shape == (2, model.num_params)
    assert run("poisoned_sgd", problem, model, **params).params is None  # kept only when asked
