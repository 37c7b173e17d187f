"""Plain torch modules as population models: same numbers as a loop over single modules."""

from __future__ import annotations

import math
import threading
import types

import pytest
import torch
from torch import nn

from zoo import manifest, runner
from zoo.evaluate import fit_and_loss
from zoo.hookspecs import hookimpl
from zoo.models.mlp import MLP
from zoo.module_population import ModulePopulation, module_model
from zoo.registry import Registry, plugin_manager
from zoo.store import Store


def mlp(input_shape, num_classes, hidden=20):
    """one hidden ReLU layer, as nn.Sequential"""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


class ConvNet(nn.Module):
    """convolution, batch norm, dropout: buffers and eval-mode layers"""

    def __init__(self, input_shape, num_classes, channels=3):
        super().__init__()
        self.conv = nn.Conv2d(input_shape[0], channels, 3)
        self.norm = nn.BatchNorm2d(channels)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(channels * (input_shape[1] - 2) * (input_shape[2] - 2), num_classes)
        nn.init.constant_(self.head.bias, 0.25)  # a factory's own initialization
        self.norm.running_mean.fill_(0.1)

    def forward(self, x):
        return self.head(self.drop(torch.relu(self.norm(self.conv(x)))).flatten(1))


def looped(adapter, theta, x):
    """The reference: load each row into one module and call it."""
    module = adapter.build_module().eval()
    module.load_state_dict(adapter.module.state_dict())  # the same buffers
    out = []
    for row in theta:
        torch.nn.utils.vector_to_parameters(row, module.parameters())
        with torch.no_grad():
            out.append(module(x))
    return torch.stack(out)


def test_vmapped_module_equals_a_loop_over_single_modules():
    model = ModulePopulation(ConvNet, (1, 8, 8), 3, channels=4)
    assert [b.name for b in model.blocks] == ["conv.weight", "conv.bias", "norm.weight", "norm.bias", "head.weight", "head.bias"]
    gen = torch.Generator().manual_seed(0)
    theta, x = model.init_uniform(5, 1.0, gen), torch.randn(7, 1, 8, 8, generator=gen)
    logits = model.forward(theta, x)
    assert logits.shape == (5, 7, 3)
    torch.testing.assert_close(logits, looped(model, theta, x))


def test_threads_evaluating_one_model_at_once_get_their_own_results():
    """Guess & Check evaluates from several threads; functional_call must not see another thread's tensors."""
    model = ModulePopulation(mlp, (2,), 2, hidden=64)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(32, 2, generator=gen)
    thetas = [model.init_uniform(m, 1.0, gen) for m in (96, 160)]
    expected = [model.forward(theta, x) for theta in thetas]
    got, errors = [[], []], []

    def work(i):
        try:
            for _ in range(40):
                got[i].append(model.forward(thetas[i], x))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in (0, 1):
        assert all(torch.equal(out, expected[i]) for out in got[i])


def test_sequential_mlp_equals_the_builtin_mlp():
    builtin, adapted = MLP((2,), 2, hidden=5), ModulePopulation(mlp, (2,), 2, hidden=5)
    assert [b.shape for b in adapted.blocks] == [b.shape for b in builtin.blocks]
    assert [b.in_norm for b in adapted.blocks] == [b.in_norm for b in builtin.blocks]
    gen = torch.Generator().manual_seed(1)
    theta, x, y = builtin.init_uniform(16, 1.0, gen), torch.randn(9, 2, generator=gen), torch.randint(0, 2, (9,), generator=gen)
    torch.testing.assert_close(adapted.forward(theta, x), builtin.forward(theta, x))
    torch.testing.assert_close(adapted.norm_scale(theta), builtin.norm_scale(theta))
    for a, b in zip(fit_and_loss(adapted, theta, x, y), fit_and_loss(builtin, theta, x, y)):
        torch.testing.assert_close(a, b)


def test_norm_choices():
    gen = torch.Generator().manual_seed(2)
    plain = ModulePopulation(mlp, (2,), 2, norm="none", hidden=3)
    theta = plain.init_uniform(4, 1.0, gen)
    assert torch.equal(plain.norm_scale(theta), torch.ones(4))
    doubled = ModulePopulation(mlp, (2,), 2, norm=lambda p: 2 * p["3.bias"].abs().sum(1), hidden=3)
    torch.testing.assert_close(doubled.norm_scale(theta), 2 * theta[:, -2:].abs().sum(1))
    with pytest.raises(ValueError, match="norm must be one of"):
        ModulePopulation(mlp, (2,), 2, norm="frobenius")


def test_default_init_is_the_factory_s_own_and_seeded():
    model = ModulePopulation(ConvNet, (1, 6, 6), 2)
    first = model.init_default(3, torch.Generator().manual_seed(5))
    again = model.init_default(3, torch.Generator().manual_seed(5))
    assert torch.equal(first, again) and not torch.equal(first[0], first[1])
    views = model.unflatten(first)
    assert torch.equal(views["head.bias"], torch.full((3, 2), 0.25))  # ConvNet sets it; no generic rule would
    assert torch.equal(views["norm.weight"], torch.ones(3, 3))  # batch norm's own initialization
    bound = 1 / math.sqrt(9)  # Conv2d's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 1 * 3 * 3
    assert views["conv.weight"].abs().max() <= bound


def test_module_model_spec_takes_its_parameters_from_the_factory():
    spec = module_model("my_mlp", mlp)
    assert spec.params == {"hidden": 20} and spec.summary == "one hidden ReLU layer, as nn.Sequential"
    assert spec.check_params({"hidden": "wide"})  # typed by the default
    model = spec.build(input_shape=(2,), num_classes=3, **spec.resolve({"hidden": 7}))
    assert model.num_params == 2 * 7 + 7 + 7 * 3 + 3

    def needs_depth(input_shape, num_classes, depth):
        return mlp(input_shape, num_classes)

    with pytest.raises(TypeError, match="'depth' needs a default"):
        module_model("deep", needs_depth)


def test_module_with_wrong_output_is_rejected_with_its_shape():
    def flat(input_shape, num_classes):
        return nn.Flatten()

    with pytest.raises(ValueError, match=r"Flatten maps 2 inputs of shape \(4,\) to \(2, 4\); .* logits \[N, 3\]"):
        module_model("flat", flat).build(input_shape=(4,), num_classes=3)


def test_registered_module_trains_and_guesses_through_the_runner(tmp_path):
    """A plugin that returns module_model(...) from zoo_models() runs under G&C and SGD, gradients included."""
    plugin = types.ModuleType("module_plugin")
    plugin.zoo_models = hookimpl(lambda: [module_model("seq_mlp", mlp)])
    registry = Registry(plugin_manager(entry_points=False, extra=(plugin,)))
    path = tmp_path / "m.toml"
    path.write_text("""
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "kink"
task = { name = "kink" }
model = { name = "seq_mlp", hidden = 8 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 3, max_guesses = 100000 },
  { name = "sgd", label = "SGD", lr = 0.1, epochs = 30, init = "default", target = 3, max_models = 16, population = 16 },
]
matrix = { n = [8], seeds = [0] }
""")
    m = manifest.load(path, registry)
    store = Store(m.store)
    assert runner.run(m, registry, store)["done"] == 2
    for record in store.records():
        assert record["metrics"]["models"] == 3, record["label"]
        assert record["metrics"]["train_acc"]["min"] == 1.0
