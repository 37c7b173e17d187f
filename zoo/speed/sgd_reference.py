"""SGD on a LeNet population the reference implementation's way, kept plain as the baseline of ``zoo speed --sgd``.

The reference holds a population of M LeNets as one network of grouped
layers: the input repeated once per model, each convolution with M groups,
and each dense layer as a grouped 1x1 convolution over the flattened
features; every layer's weights and biases are separate parameters of one
``torch.optim`` optimizer, the gradient comes from autograd, and before
every step a forward pass of the whole population on the whole training set
decides which models have reached the bin. This module trains a round that
way with zoo's rules (:class:`zoo.optimizers.gradient.GradientBaseline`:
the same minibatch order from the same generator, a model frozen once it
fits with its normalized loss at or below the bin's upper edge, checked
after each step), so that both designs train the same models to the same
parameters up to float32 rounding (``tests/test_sgd_engines.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.evaluate import accuracy, normalized_loss
from zoo.models.lenet import LeNet
from zoo.optimizers.updates import TORCH


class GroupedLeNet:
    """A population of LeNets as grouped layers, one parameter tensor per layer and kind, as the reference holds it."""

    def __init__(self, model: LeNet, theta: torch.Tensor):
        self.model, self.m = model, theta.shape[0]
        p = model.unflatten(theta.detach())
        m, (channels, c1, c2, side) = self.m, model.sizes
        shapes = {"conv1_w": (m * c1, channels, 5, 5), "conv2_w": (m * c2, c1, 5, 5)}
        self.params = []
        for block in model.blocks:
            shape = shapes.get(block.name) or ((m * block.shape[0], block.shape[1], 1, 1) if block.name.endswith("_w")
                                               else (m * block.shape[0],))
            self.params.append(p[block.name].reshape(shape).clone().requires_grad_(True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[M, N, C]``."""
        w1, b1, w2, b2, f1, g1, f2, g2, f3, g3 = self.params
        m, n = self.m, x.shape[0]
        h = F.max_pool2d(torch.relu(F.conv2d(x.repeat(1, m, 1, 1), w1, b1, groups=m)), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, w2, b2, groups=m)), 2)
        h = torch.relu(F.conv2d(h.reshape(n, -1, 1, 1), f1, g1, groups=m))
        h = torch.relu(F.conv2d(h, f2, g2, groups=m))
        return F.conv2d(h, f3, g3, groups=m).view(n, m, -1).transpose(0, 1)

    def norm_scale(self) -> torch.Tensor:
        scale = torch.ones(self.m, device=self.params[0].device)
        for w in self.params[0::2]:
            scale = scale * (w.detach().reshape(self.m, -1).norm(dim=1) / 3.0)
        return scale

    def rows(self) -> list[torch.Tensor]:
        """Each parameter tensor as ``[M, numel per model]`` (views)."""
        return [p.detach().view(self.m, -1) for p in self.params]

    def theta(self) -> torch.Tensor:
        return torch.cat(self.rows(), dim=1)


def train_reference(sgd, model: LeNet, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator,
                    loss_bin=None, max_steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Train the round ``theta`` with ``sgd``'s settings (a GradientBaseline); returns (theta, frozen, steps).

    Stops after ``sgd.epochs`` epochs, once every model is frozen, or after ``max_steps`` steps.
    """
    net = GroupedLeNet(model, theta)
    optimizer = TORCH[sgd.algorithm](net.params, sgd.lr, sgd.momentum, sgd.weight_decay)
    n, m = len(y), theta.shape[0]
    batch = sgd.batch_size(n)
    frozen = torch.zeros(m, dtype=torch.bool, device=theta.device)
    snapshot = [r.clone() for r in net.rows()]
    steps = 0
    for _ in range(sgd.epochs):
        order = torch.randperm(n, generator=gen, device=gen.device).to(x.device)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            logits = net.forward(x[idx])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[idx].repeat(m), reduction="sum") / len(idx)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            optimizer.step()
            steps += 1
            with torch.no_grad():
                for row, snap in zip(net.rows(), snapshot):
                    row[frozen] = snap[frozen]
                if sgd.steer:
                    logits = net.forward(x)
                    done = accuracy(logits, y) >= 1
                    if loss_bin is not None:
                        done &= normalized_loss(logits, net.norm_scale(), y) <= loss_bin[1]
                    newly = done & ~frozen
                    for row, snap in zip(net.rows(), snapshot):
                        snap[newly] = row[newly]
                    frozen |= newly
            if (sgd.steer and bool(frozen.all())) or (max_steps is not None and steps >= max_steps):
                return net.theta(), frozen, steps
    return net.theta(), frozen, steps
