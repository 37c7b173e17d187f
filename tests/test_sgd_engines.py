"""SGD on LeNet populations three ways, on real data: the compiled gradient (engine "fast", the default), autograd
on zoo's population (engine "autograd") and the reference implementation's grouped layers
(:mod:`zoo.speed.sgd_reference`). They must compute the same gradients and logits up to float32
rounding, train the same round to the same parameters, freeze the same models, and give a cell the same outcome.

Rounding differences grow along a trajectory: a step from U[-1, 1] weights is large, and a ReLU or a pooling
window that changes sides between two computations changes the next step. The reference design's grouped
convolution (the input repeated per model) rounds differently from zoo's two paths (its logits differ from
zoo's by up to about 1e-5 of their size, as zoo's differ from float64), so it is compared over the first steps
of a round, and zoo's two engines over whole rounds and a whole cell.
"""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from zoo.evaluate import fit_and_loss
from zoo.models.lenet import LeNet
from zoo.optimizer import Context
from zoo.optimizers.gradient import GradientBaseline, Progress, Round
from zoo.speed.sgd_reference import GroupedLeNet, train_reference
from zoo.optimizers.lenet_gradient import LeNetGradients
from zoo.optimizers.poisoned import Poisoned, PoisonedSGD
from zoo.optimizers.updates import SGD, TorchUpdate, population_update
from zoo.tasks.cifar10 import CIFAR10
from zoo.tasks.mnist import MNIST


def problem_of(task, n):
    return (MNIST() if task == "mnist" else CIFAR10()).sample(n, 0)


def close_rows(a, b, rtol):
    """Every row of ``a`` within ``rtol`` of ``b``'s largest magnitude in that row."""
    return bool(((a - b).abs().amax(1) <= rtol * b.abs().amax(1) + 1e-12).all())


@pytest.mark.parametrize("task, n", [("mnist", 3), ("cifar10", 2)])
def test_the_kernel_gives_autograds_gradient_and_logits_for_the_chosen_rows_only(task, n, mnist_root):
    problem = problem_of(task, max(n, 2))
    x, y = problem.x_train[:n], problem.y_train[:n]
    model = LeNet(problem.input_shape, 2, width=0.5)
    kernel = LeNetGradients(model)
    assert kernel.available
    theta = model.init_uniform(12, 1.0, torch.Generator().manual_seed(3))
    rows = torch.tensor([0, 2, 3, 7, 11])
    grad = torch.full_like(theta, 7.0)  # rows not chosen keep what they held
    loss = kernel.gradient(theta, grad, rows, x, y)

    leaf = theta.clone().requires_grad_(True)
    logits = model.forward(leaf, x)
    per_model = F.cross_entropy(logits.reshape(-1, 2), y.repeat(12), reduction="none").view(12, n).mean(1)
    per_model.sum().backward()
    assert close_rows(grad[rows], leaf.grad[rows], 1e-3)
    assert torch.allclose(loss, per_model.detach()[rows], rtol=1e-4, atol=1e-3)
    others = torch.ones(12, dtype=torch.bool)
    others[rows] = False
    assert bool((grad[others] == 7.0).all())
    assert torch.allclose(kernel.logits(theta, rows, x), logits.detach()[rows], rtol=1e-5, atol=1e-4 * float(logits.detach().abs().max()))


def test_the_kernel_handles_rows_shorter_than_a_register(mnist_root):
    """A 16x16 LeNet: its second convolution's rows are 2 outputs long (MNIST's central 16x16 pixels)."""
    problem = problem_of("mnist", 3)
    x, y = problem.x_train[:, :, 6:22, 6:22].contiguous(), problem.y_train
    model = LeNet((1, 16, 16), 2, width=0.5)
    kernel = LeNetGradients(model, threads=1)
    theta = model.init_uniform(4, 1.0, torch.Generator().manual_seed(5))
    grad = torch.zeros_like(theta)
    kernel.gradient(theta, grad, torch.arange(4), x, y)
    leaf = theta.clone().requires_grad_(True)
    logits = model.forward(leaf, x)
    (F.cross_entropy(logits.reshape(-1, 2), y.repeat(4), reduction="sum") / 3).backward()
    assert close_rows(grad, leaf.grad, 1e-3)
    assert torch.allclose(kernel.logits(theta, torch.arange(4), x), logits.detach(), rtol=1e-5,
                          atol=1e-4 * float(logits.detach().abs().max()))


def test_the_grouped_layers_of_the_reference_design_hold_zoos_population(mnist_root):
    problem = problem_of("mnist", 4)
    model = LeNet(problem.input_shape, 2, width=0.5)
    theta = model.init_uniform(5, 1.0, torch.Generator().manual_seed(4))
    net = GroupedLeNet(model, theta)
    assert torch.equal(net.theta(), theta)
    assert torch.allclose(net.forward(problem.x_train), model.forward(theta, problem.x_train), rtol=1e-5, atol=1e-3)
    assert torch.allclose(net.norm_scale(), model.norm_scale(theta), rtol=1e-6)


def train_three_ways(task, n, models, epochs, lr, loss_bin, reference_steps=None):
    problem = problem_of(task, n)
    model = LeNet(problem.input_shape, 2, width=0.5)
    result = {}
    for engine in ("fast", "autograd", "reference"):
        sgd = GradientBaseline(lr=lr, epochs=epochs, population=models, engine="autograd" if engine == "reference" else engine)
        ctx = Context(seed=0, loss_bin=loss_bin)
        gen = ctx.generator("init")
        theta = model.init_uniform(models, 1.0, gen)
        if engine == "reference":
            trained, _, steps = train_reference(sgd, model, theta, problem.x_train, problem.y_train, gen, loss_bin,
                                                reference_steps)
        else:
            if reference_steps:  # zoo's loop stops right after that step too
                sgd.max_cell_evals = (reference_steps - 0.5) * models * sgd.batch_size(n) / n
            run = Progress(counters={"steps": 0, "forward_evals": 0.0}, round=Round(theta))
            trained, steps = sgd.train(run, problem, model, ctx, gen), run.counters["steps"]
        result[engine] = (trained, steps, gen.get_state())
    return model, problem, result


@pytest.mark.parametrize("task, n, epochs, lr, loss_bin", [
    ("mnist", 4, 6, 1e-3, None),  # models freeze once they fit, at different steps
    ("mnist", 8, 4, 1e-3, (0.0, 0.66)),  # ... once they fit with their normalized loss at or below 0.66
    ("cifar10", 4, 4, 1e-4, None),
])
def test_a_round_trains_to_the_same_models_with_either_zoo_engine(task, n, epochs, lr, loss_bin, mnist_root):
    model, problem, result = train_three_ways(task, n, 16, epochs, lr, loss_bin)
    fast, autograd = result["fast"], result["autograd"]
    assert fast[1] == autograd[1] and torch.equal(fast[2], autograd[2])  # same steps, same draws of the generator
    assert close_rows(fast[0], autograd[0], 1e-4)
    fits = [fit_and_loss(model, trained, problem.x_train, problem.y_train)[0] >= 1 for trained, _, _ in (fast, autograd)]
    assert torch.equal(*fits)
    assert 0 < int(fits[0].sum()) < 16  # the steering froze some models at some step, and not all


@pytest.mark.parametrize("task, n, steps, lr", [("mnist", 8, 7, 1e-3), ("cifar10", 4, 6, 1e-4)])
def test_the_reference_design_takes_zoos_steps(task, n, steps, lr, mnist_root):
    _, _, result = train_three_ways(task, n, 16, 30, lr, (0.0, 0.66), reference_steps=steps)
    fast, autograd, reference = result["fast"], result["autograd"], result["reference"]
    assert fast[1] == autograd[1] == reference[1] == steps
    assert torch.equal(fast[2], reference[2])
    for other in (autograd, reference):
        assert close_rows(fast[0], other[0], 1e-4)


def test_a_cell_has_the_same_outcome_with_either_engine(mnist_root):
    problem = problem_of("mnist", 4)
    model = LeNet(problem.input_shape, 2, width=0.5)
    outcomes = {}
    for engine in ("fast", "autograd"):
        sgd = GradientBaseline(lr=1e-3, epochs=6, population=8, target=6, max_models=24, engine=engine)
        outcomes[engine] = sgd.run(problem, model, Context(seed=2, loss_bin=(0.55, 0.66), keep_params=True))
    fast, autograd = outcomes["fast"], outcomes["autograd"]
    assert fast.counters == autograd.counters
    assert fast.counters["accepted"] > 0 and fast.counters["restarts"] > 0
    # parameters within float32 rounding of each other: a test image whose margin is as small may go either way
    images = len(problem.y_test)
    assert all(abs(a - b) * images <= 1.5 for a, b in zip(fast.test_acc, autograd.test_acc))
    assert close_rows(fast.params, autograd.params, 1e-4)
    assert torch.allclose(torch.tensor(fast.train_loss), torch.tensor(autograd.train_loss), rtol=1e-5)


def test_poisoned_sgd_keeps_its_own_stop_rule_with_the_kernels_gradient(mnist_root):
    """Poisoned SGD checks its stop rule every few epochs on the poisoned set: the fast engine must not check its own way."""
    problem = problem_of("mnist", 2)
    model = LeNet(problem.input_shape, 2, width=0.5)
    outcomes = {}
    for engine in ("fast", "autograd"):
        inner = PoisonedSGD(lr=1e-3, epochs=12, batch=400, population=8, target=8, max_models=8, check_every=3,
                            engine=engine)
        outcomes[engine] = Poisoned(inner, poison=2, repeat=1).run(problem, model, Context(seed=1, keep_params=True))
    fast, autograd = outcomes["fast"], outcomes["autograd"]
    assert fast.counters == autograd.counters
    assert fast.counters["fit_poisoned"] > 0  # some fitted the poisoned set, and the check ran on the poisoned set
    assert close_rows(fast.params, autograd.params, 1e-4)


def test_the_fast_engine_falls_back_to_autograd_where_it_has_no_kernel():
    from zoo.models.mlp import MLP

    sgd = GradientBaseline()
    assert sgd.kernel(MLP((2,), 2, hidden=4), torch.zeros(1, 3)) is None
    assert GradientBaseline(engine="autograd").kernel(LeNet((1, 28, 28), 2, width=0.5), torch.zeros(1, 3)) is None
    with pytest.raises(ValueError, match="engine must be one of"):
        GradientBaseline(engine="turbo")


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.5, 0.0), (0.9, 1e-3)])
def test_plain_sgds_update_is_torch_optims_bit_for_bit(momentum, weight_decay, mnist_root):
    """Autograd's gradients on real MNIST, five steps each way; halfway, each side's state goes to the other."""
    problem = problem_of("mnist", 4)
    model = LeNet(problem.input_shape, 2, width=0.5)
    start = model.init_uniform(6, 1.0, torch.Generator().manual_seed(9))
    thetas = [start.clone().requires_grad_(True) for _ in range(2)]
    ours, theirs = SGD(thetas[0], 1e-3, momentum, weight_decay), TorchUpdate("sgd", thetas[1], 1e-3, momentum, weight_decay)
    assert isinstance(population_update("sgd", thetas[0], 1e-2, momentum, weight_decay), SGD)
    assert isinstance(population_update("adam", thetas[0], 1e-2, momentum, weight_decay), TorchUpdate)
    for step in range(5):
        for theta, update in ((thetas[0], ours), (thetas[1], theirs)):
            update.zero_grad()
            logits = model.forward(theta, problem.x_train[step % 2 :: 2])
            F.cross_entropy(logits.reshape(-1, 2), problem.y_train[step % 2 :: 2].repeat(6), reduction="sum").backward()
            update.step()
        assert torch.equal(thetas[0], thetas[1]) and bool(thetas[0].isfinite().all())
        assert ours.state().keys() == theirs.state().keys() == ({"momentum_buffer"} if momentum else set())
        assert all(torch.equal(ours.state()[k], theirs.state()[k]) for k in ours.state())
        if step == 2:  # a checkpoint's state taken by the other side
            mine, other = {k: v.clone() for k, v in ours.state().items()}, {k: v.clone() for k, v in theirs.state().items()}
            ours.load(other)
            theirs.load(mine)


def test_an_sgd_cell_leaves_torch_dynamo_unimported(mnist_root):
    """torch.optim's first optimizer imports torch._dynamo (seconds); the default suite's SGD cell (a round) needs none."""
    probe = ("import sys, torch; from zoo.speed.contention import default_suite_cell; from zoo.registry import default_registry; "
             "from zoo.runner import run_cell; from zoo.data import set_data_root; "
             f"set_data_root({str(mnist_root)!r}); registry = default_registry(); "
             "cell = default_suite_cell('sgd', registry); from dataclasses import replace; "
             "cell = replace(cell, optimizer=replace(cell.optimizer, params={**cell.optimizer.params, 'max_models': 32})); "
             "result = run_cell(cell, registry, torch.device('cpu')); "
             "print(result.metrics['counters']['tested'], 'torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["32.0", "False"], done.stderr
