"""Population forward passes and normalized-loss scales against single-model references."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from zoo.evaluate import accepted, fit_and_loss, inference_logits, normalized_loss
from zoo.models.layers import relu_pool2
from zoo.models.lenet import LeNet
from zoo.models.linear import Linear
from zoo.models.mlp import MLP
from zoo.optimizers.candidates import CoordinateDeltas, FullForward, evaluator
from zoo.population import declared


def lenet_module(width, channels, classes):
    c1, c2, f1, f2 = int(6 * width), int(16 * width), int(120 * width), int(84 * width)
    side = 4 if channels == 1 else 5
    return nn.Sequential(
        nn.Conv2d(channels, c1, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(c2 * side * side, f1), nn.ReLU(), nn.Linear(f1, f2), nn.ReLU(), nn.Linear(f2, classes),
    )


def load_row(module, theta_row):
    """Copy one population row into an nn.Module with the same parameter order."""
    torch.nn.utils.vector_to_parameters(theta_row, module.parameters())
    return module


def test_lenet_width_half_has_about_11k_parameters():
    assert LeNet((1, 28, 28), 2, 0.5).num_params == 11074
    assert LeNet((1, 28, 28), 2, 0.5).num_params == sum(p.numel() for p in lenet_module(0.5, 1, 2).parameters())


def test_lenet_population_matches_single_models_on_both_input_sizes():
    gen = torch.Generator().manual_seed(0)
    for shape, width in (((1, 28, 28), 0.5), ((3, 32, 32), 1.0)):
        model = LeNet(shape, 3, width)
        theta = model.init_uniform(4, 1.0, gen)
        x = torch.randn(5, *shape, generator=gen)
        logits = model.forward(theta, x)
        for m in range(4):
            reference = load_row(lenet_module(width, shape[0], 3), theta[m])
            torch.testing.assert_close(logits[m], reference(x), rtol=1e-4, atol=1e-3)


def test_relu_pool2_is_max_pool2d_of_relu_bit_for_bit_on_odd_and_even_sides():
    gen = torch.Generator().manual_seed(3)
    for shape in ((5, 7, 24, 24), (3, 4, 9, 11), (2, 6, 8, 8)):
        h = torch.randn(shape, generator=gen)
        h[..., ::3, ::2] = 0.0  # ties at zero, as ReLU makes them
        assert torch.equal(relu_pool2(h), nn.functional.max_pool2d(torch.relu(h), 2))


def test_lenet_scale_is_product_of_weight_norms_over_three():
    model = LeNet((1, 28, 28), 2, 0.5)
    theta = model.init_uniform(2, 1.0, torch.Generator().manual_seed(1))
    module = load_row(lenet_module(0.5, 1, 2), theta[1])
    expected = math.prod(layer.weight.norm().item() / 3 for layer in module if isinstance(layer, (nn.Conv2d, nn.Linear)))
    assert math.isclose(model.norm_scale(theta)[1].item(), expected, rel_tol=1e-5)


@pytest.mark.parametrize("inputs", [2, 784])  # both first-layer paths: one wide GEMM, batched in place
def test_mlp_matches_module_and_scale_is_product_of_norms(inputs):
    model = MLP((inputs,), 2, hidden=7, layers=2)
    theta = model.init_uniform(3, 1.0, torch.Generator().manual_seed(2))
    module = nn.Sequential(nn.Linear(inputs, 7), nn.ReLU(), nn.Linear(7, 7), nn.ReLU(), nn.Linear(7, 2))
    x = torch.randn(6, inputs)
    logits = model.forward(theta, x)
    for row in range(3):
        load_row(module, theta[row])
        torch.testing.assert_close(logits[row], module(x), rtol=1e-4, atol=1e-3)
    expected = math.prod(l.weight.norm().item() for l in module if isinstance(l, nn.Linear))
    assert math.isclose(model.norm_scale(theta)[2].item(), expected, rel_tol=1e-5)


def test_normalized_loss_of_linear_model_by_hand():
    # W = [[3, 0], [0, 4]] has ||W||_F = 5; b = 0. Inputs (1, 0) label 0 and (0, 1) label 1.
    model = Linear((2,), 2)
    theta = torch.tensor([[3.0, 0.0, 0.0, 4.0, 0.0, 0.0]])
    x, y = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    # normalized logits: (0.6, 0) and (0, 0.8); CE = log(1 + e^-0.6), log(1 + e^-0.8)
    expected = (math.log(1 + math.exp(-0.6)) + math.log(1 + math.exp(-0.8))) / 2
    acc, loss = fit_and_loss(model, theta, x, y)
    assert acc.item() == 1.0
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)
    logits = model.forward(theta, x)
    assert math.isclose(normalized_loss(logits, torch.tensor([5.0]), y).item(), expected, rel_tol=1e-6)


def test_acceptance_rule_needs_full_fit_and_loss_in_half_open_bin():
    acc = torch.tensor([1.0, 1.0, 1.0, 0.5, 1.0])
    loss = torch.tensor([0.35, 0.30, 0.32, 0.32, 0.36])
    assert accepted(acc, loss, (0.30, 0.35)).tolist() == [True, False, True, False, False]
    assert accepted(acc, loss, None).tolist() == [True, True, True, False, True]


def test_default_init_bounds_follow_fan_in():
    model = LeNet((1, 28, 28), 2, 0.5)
    theta = model.init_default(64, torch.Generator().manual_seed(0))
    views = model.unflatten(theta)
    for block in model.blocks:
        bound = 1 / math.sqrt(block.fan_in)
        values = views[block.name]
        assert values.abs().max() <= bound
        assert values.abs().max() > 0.9 * bound


@pytest.mark.parametrize("model", [Linear((1, 28, 28), 2), MLP((2,), 2, hidden=20, layers=2), MLP((784,), 10, hidden=7)],
                         ids=["linear", "mlp-2-layers", "mlp-784-7-10"])
def test_regular_init_bounds_weights_by_fan_out_and_biases_by_one(model):
    theta = model.init_regular(256, torch.Generator().manual_seed(0))
    views = model.unflatten(theta)
    for block in model.blocks:
        values = views[block.name]
        is_weight = values.dim() == 3  # [M, out, in]
        bound = 1 / math.sqrt(values.shape[1]) if is_weight else 1.0
        assert values.abs().max() <= bound, block.name
        assert values.abs().max() > 0.9 * bound, block.name  # fan-in would give 1/sqrt(in), far below for 784 inputs


def test_regular_init_of_lenet_is_pytorch_s_default_as_in_the_reference():
    model = LeNet((1, 28, 28), 2, 0.5)
    regular = model.init_regular(8, torch.Generator().manual_seed(3))
    assert torch.equal(regular, model.init_default(8, torch.Generator().manual_seed(3)))


@pytest.mark.parametrize("init", ["uniform", "default", "regular"])
def test_an_optimizer_s_init_parameter_names_the_rule(init):
    from zoo.registry import default_registry

    model = MLP((2,), 2, hidden=5)
    rule = {"uniform": lambda g: model.init_uniform(4, 2.0, g), "default": lambda g: model.init_default(4, g),
            "regular": lambda g: model.init_regular(4, g)}[init]
    assert torch.equal(model.initial(init, 4, 2.0, torch.Generator().manual_seed(1)), rule(torch.Generator().manual_seed(1)))
    for name in ("sgd", "pattern_search"):
        spec = default_registry().get("optimizer", name)
        assert spec.check_params({"init": init}) == []
        assert spec.build(init=init).init == init
    with pytest.raises(ValueError, match="init must be one of"):
        model.initial("sphere", 4, 1.0)


def test_test_accuracy_in_blocks_of_models_and_inputs_equals_one_model_at_a_time():
    from zoo.evaluate import accuracy, test_accuracy

    gen = torch.Generator().manual_seed(4)
    model = LeNet((1, 28, 28), 2, 0.5)
    theta, x, y = model.init_uniform(7, 1.0, gen), torch.randn(23, 1, 28, 28, generator=gen), torch.randint(0, 2, (23,), generator=gen)
    one_by_one = torch.stack([accuracy(model.forward(theta[i : i + 1], x), y)[0] for i in range(7)])
    for budget in (1, 5, 23, 50, 1 << 15):  # blocks of 1x1 up to everything at once
        assert torch.allclose(test_accuracy(model, theta, x, y, budget=budget), one_by_one)


def test_fast_paths_count_only_where_the_model_s_own_class_declares_them():
    """A subclass that changes the forward pass must never run its parent's probe, moves or kernels."""

    class Doubled(LeNet):
        def forward(self, theta, x):
            return 2 * super().forward(theta, x)

    lenet, doubled = LeNet((1, 28, 28), 2, width=0.5), Doubled((1, 28, 28), 2, width=0.5)
    capabilities = ("probe", "reference_probe", "kernel_constants", "single_moves", "compiled_logits")
    assert all(declared(lenet, name) is not None for name in capabilities)
    assert all(declared(doubled, name) is None for name in capabilities)
    gen = torch.Generator().manual_seed(0)
    theta, x = doubled.init_uniform(3, 1.0, gen), torch.randn(5, 1, 28, 28, generator=gen)
    assert torch.equal(inference_logits(doubled, theta, x), doubled.forward(theta, x))  # its own forward, not the kernel
    moves = SimpleNamespace(propose_moves=None)  # a move set pattern search can evaluate coordinate by coordinate
    assert isinstance(evaluator("fast", lenet, x, None, moves), CoordinateDeltas)
    assert isinstance(evaluator("fast", doubled, x, None, moves), FullForward)  # neither LeNet's moves nor its head
    lenet.single_moves = None  # set on the model itself: turned off for this model only
    assert declared(lenet, "single_moves") is None and declared(LeNet((1, 28, 28), 2), "single_moves") is not None
