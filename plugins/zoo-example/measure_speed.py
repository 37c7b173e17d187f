"""Hand-batched built-in models against the same architectures as plain modules via vmap.

Usage: ``python plugins/zoo-example/measure_speed.py [--threads 2] [--rounds 5]``

For LeNet (width 0.5, two-class MNIST shapes) and a one-hidden-layer MLP it
times (a) a Guess & Check population pass: 1,024 models on n = 2 and n = 16
inputs, and (b) an SGD step: forward and backward of 32 models on a
minibatch of 2. Built-in and vmap alternate round by round so that both see
the same load on a shared machine; each one's best round counts. The ratio
is the built-in rate divided by the vmap rate (above 1: vmap is slower).
Both models get the same ``theta``, and their logits are checked to agree.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models.lenet import LeNet
from zoo.models.mlp import MLP
from zoo.module_population import ModulePopulation
from zoo_example.model import TorchLeNet, lenet_scale

SHAPE = (1, 28, 28)


def torch_mlp(input_shape, num_classes, hidden=20):
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


PAIRS = {
    "lenet w=0.5": (LeNet(SHAPE, 2, width=0.5), ModulePopulation(TorchLeNet, SHAPE, 2, lenet_scale, width=0.5)),
    "mlp hidden=20": (MLP(SHAPE, 2, hidden=20), ModulePopulation(torch_mlp, SHAPE, 2, hidden=20)),
}


@torch.no_grad()
def forward_rate(model, theta, x, repeats):
    began = time.perf_counter()
    for _ in range(repeats):
        model.forward(theta, x)
    return repeats * theta.shape[0] / (time.perf_counter() - began)


def step_rate(model, theta, x, y, repeats):
    began = time.perf_counter()
    for _ in range(repeats):
        t = theta.clone().requires_grad_(True)
        logits = model.forward(t, x)
        F.cross_entropy(logits.flatten(0, 1), y.repeat(t.shape[0])).backward()
    return repeats / (time.perf_counter() - began)


def best_of(rounds, measure, models):
    """Alternate the models round by round; each one's best rate."""
    rates = [[] for _ in models]
    for _ in range(rounds):
        for i, model in enumerate(models):
            rates[i].append(measure(model))
    return [max(r) for r in rates]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, best of {args.rounds} alternating rounds")
    print(f"{'model':15} {'workload':28} {'built-in':>12} {'vmap':>12} {'ratio':>6}")
    for name, (builtin, adapted) in PAIRS.items():
        assert builtin.num_params == adapted.num_params
        for n in (2, 16):
            theta, x = builtin.init_uniform(1024, 1.0, gen), torch.randn(n, *SHAPE, generator=gen)
            torch.testing.assert_close(builtin.forward(theta, x), adapted.forward(theta, x), rtol=1e-4, atol=1e-4)
            a, b = best_of(args.rounds, lambda m: forward_rate(m, theta, x, 3), (builtin, adapted))
            print(f"{name:15} {f'forward, 1024 models, n={n}':28} {a:>8,.0f} m/s {b:>8,.0f} m/s {a / b:>6.2f}")
        theta, x, y = builtin.init_uniform(32, 1.0, gen), torch.randn(2, *SHAPE, generator=gen), torch.tensor([0, 1])
        a, b = best_of(args.rounds, lambda m: step_rate(m, theta, x, y, 5), (builtin, adapted))
        print(f"{name:15} {'sgd step, 32 models, batch 2':28} {a:>8,.1f} st/s {b:>7,.1f} st/s {a / b:>6.2f}")


if __name__ == "__main__":
    main()
