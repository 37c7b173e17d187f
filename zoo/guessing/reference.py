"""The reference judge: every guess evaluated on all n training samples.

This is the design of the reference implementation, kept plain on purpose: it
is the baseline that ``zoo speed`` measures the fast judge against, and the
arbiter that decides every close call of the fast judge. LeNet runs as one
grouped convolution per layer across the population, its first layer over the
input repeated once per model; the dense models run as one matrix product per
layer (their own ``forward``). Acceptance is :func:`zoo.evaluate.accepted`.

A model's logits here do not depend on which other models share the batch
(checked by the tests on the CPU), which is what lets the fast judge hand a
few guesses back to this judge and get the very decision the baseline made.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.evaluate import LossBin, accepted, accuracy, normalized_loss
from zoo.models.layers import dense
from zoo.models.lenet import LeNet


def lenet_grouped_logits(model: LeNet, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """LeNet logits ``[M, N, C]`` with one grouped convolution per layer, input repeated per model."""
    p = model.unflatten(theta)
    m, n = theta.shape[0], x.shape[0]
    channels, c1, c2, side = model.sizes
    h = F.conv2d(x.repeat(1, m, 1, 1), p["conv1_w"].reshape(m * c1, channels, 5, 5), p["conv1_b"].reshape(m * c1), groups=m)
    h = F.max_pool2d(torch.relu(h), 2)
    h = F.conv2d(h, p["conv2_w"].reshape(m * c2, c1, 5, 5), p["conv2_b"].reshape(m * c2), groups=m)
    h = F.max_pool2d(torch.relu(h), 2)
    h = h.view(n, m, c2 * side * side).transpose(0, 1)
    h = torch.relu(dense(h, p["fc1_w"], p["fc1_b"]))
    h = torch.relu(dense(h, p["fc2_w"], p["fc2_b"]))
    return dense(h, p["fc3_w"], p["fc3_b"])


def reference_logits(model, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Logits of every guess on every sample, the reference way."""
    if type(model) is LeNet:  # a subclass may compute something else
        return lenet_grouped_logits(model, theta, x)
    return model.forward(theta, x)


def fit_and_loss(model, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Train accuracy and normalized train loss of every guess, the reference way."""
    logits = reference_logits(model, theta, x)
    return accuracy(logits, y), normalized_loss(logits, model.norm_scale(theta), y)


class ReferenceJudge:
    """Accepts the guesses that fit all n samples and land in the loss bin."""

    def __init__(self, model, x: torch.Tensor, y: torch.Tensor, loss_bin: LossBin | None):
        self.model, self.x, self.y, self.loss_bin = model, x, y, loss_bin

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        """Row indices (ascending) of the accepted guesses in ``theta``."""
        acc, loss = fit_and_loss(self.model, theta, self.x, self.y)
        return accepted(acc, loss, self.loss_bin).nonzero().flatten()
