"""The built-in models' probes: their logits on a few training samples, with a rounding scale, for Guess & Check.

A probe (the population protocol, :class:`zoo.population.PopulationModel`) is
built once per problem and called many times, on a slice of the training
samples and whichever guesses are still alive::

    logits, scale = probe(theta[S, P], samples: slice)   # [S, g, C], [S, g]

It computes the model's function with its own order of float operations, so
its logits may differ from the forward pass's in the last bits. ``scale``
bounds how far: it is the sum over classes of the absolute-value path through
the last layer, |W| h + |b|; :mod:`zoo.guessing.verdict` calls anything
within ``TOLERANCE`` of it a close call.

LeNet (:class:`LeNetProbe`): the first layer's input is shared by every
model, so its patches are unfolded once per problem, grouped by pooling
window; one matrix product gives every model's first-layer outputs, and
max-pooling becomes three elementwise maxima (bias and ReLU after the
pooling, which is exact since both are monotone). The second layer is one
grouped convolution on a channels-last view of that product, with no copy.
Its reference probe (:class:`GroupedLeNetProbe`) is the reference
implementation's design: one grouped convolution per layer, the input
repeated once per model. Dense models (:class:`DenseProbe`): one matrix
product per layer, which is also their reference computation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.models.layers import dense, dense_shared


def pool2(h: torch.Tensor) -> torch.Tensor:
    """2x2 max-pooling of the last two axes (odd edges dropped, as max_pool2d does)."""
    rows, cols = h.shape[-2] // 2 * 2, h.shape[-1] // 2 * 2
    top = torch.maximum(h[..., 0:rows:2, 0:cols:2], h[..., 0:rows:2, 1:cols:2])
    return torch.maximum(top, torch.maximum(h[..., 1:rows:2, 0:cols:2], h[..., 1:rows:2, 1:cols:2]))


def last_layer(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of the last dense layer and their rounding scale sum_c (|W| h + |b|)_c, for ``h >= 0``."""
    return dense(h, w, b), dense(h, w.abs(), b.abs()).sum(-1)


class LeNetProbe:
    def __init__(self, model, x: torch.Tensor):
        channels, _, _, _ = model.sizes
        n, side = x.shape[0], x.shape[-1] - 4
        half = side // 2
        patches = F.unfold(x, 5).view(n, channels * 25, side, side)[:, :, : 2 * half, : 2 * half]
        patches = patches.reshape(n, channels * 25, half, 2, half, 2).permute(0, 3, 5, 2, 4, 1)
        self.patches = patches.reshape(n, 4, half * half, channels * 25).contiguous()  # [n, window, position, k]
        self.model, self.half = model, half

    def __call__(self, theta: torch.Tensor, samples: slice) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.model.unflatten(theta)
        channels, c1, c2, side = self.model.sizes
        m = theta.shape[0]
        patches = self.patches[samples]
        g = patches.shape[0]
        h = torch.matmul(patches, p["conv1_w"].reshape(m * c1, channels * 25).t())  # [g, 4, position, m*c1]
        h = torch.maximum(torch.maximum(h[:, 0], h[:, 1]), torch.maximum(h[:, 2], h[:, 3]))
        h = h.add_(p["conv1_b"].reshape(m * c1)).relu_()
        h = h.view(g, self.half, self.half, m * c1).permute(0, 3, 1, 2)  # channels-last NCHW view
        h = F.conv2d(h, p["conv2_w"].reshape(m * c2, c1, 5, 5), p["conv2_b"].reshape(m * c2), groups=m)
        h = pool2(h).relu_()
        h = h.reshape(g, m, c2 * side * side).transpose(0, 1)
        h = dense(h, p["fc1_w"], p["fc1_b"]).relu_()
        h = dense(h, p["fc2_w"], p["fc2_b"]).relu_()
        return last_layer(h, p["fc3_w"], p["fc3_b"])


class GroupedLeNetProbe:
    """LeNet logits and rounding scale, one grouped convolution per layer, input repeated per model."""

    def __init__(self, model, x: torch.Tensor):
        self.model, self.x = model, x

    def __call__(self, theta: torch.Tensor, samples: slice) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.model.unflatten(theta)
        x = self.x[samples]
        m, n = theta.shape[0], x.shape[0]
        channels, c1, c2, side = self.model.sizes
        h = F.conv2d(x.repeat(1, m, 1, 1), p["conv1_w"].reshape(m * c1, channels, 5, 5), p["conv1_b"].reshape(m * c1), groups=m)
        h = F.max_pool2d(torch.relu(h), 2)
        h = F.conv2d(h, p["conv2_w"].reshape(m * c2, c1, 5, 5), p["conv2_b"].reshape(m * c2), groups=m)
        h = F.max_pool2d(torch.relu(h), 2)
        h = h.view(n, m, c2 * side * side).transpose(0, 1)
        h = torch.relu(dense(h, p["fc1_w"], p["fc1_b"]))
        h = torch.relu(dense(h, p["fc2_w"], p["fc2_b"]))
        return last_layer(h, p["fc3_w"], p["fc3_b"])


class DenseProbe:
    """A chain of dense layers with ReLU between them (the linear model is a chain of one)."""

    def __init__(self, model, x: torch.Tensor, layers: list[tuple[str, str]]):
        self.model, self.x, self.layers = model, x.flatten(1), layers

    def __call__(self, theta: torch.Tensor, samples: slice) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.model.unflatten(theta)
        m = theta.shape[0]
        p.update({b: p[w].new_zeros(m, p[w].shape[1]) for w, b in self.layers if b not in p})  # a layer without a bias
        x = self.x[samples]
        (w, b), *rest = self.layers
        if not rest:
            logits = dense_shared(x, p[w], p[b])
            return logits, dense_shared(x.abs(), p[w].abs(), p[b].abs()).sum(-1)
        h = dense_shared(x, p[w], p[b]).relu_()
        for w, b in rest[:-1]:
            h = dense(h, p[w], p[b]).relu_()
        w, b = rest[-1]
        return last_layer(h, p[w], p[b])
