"""LeNet's loss gradient for a population, computed by a C kernel (``lenet_gradient.c``).

Autograd runs a population of LeNet-0.5 models on a few samples as some
thirty torch operations a step, each over the whole population: every
intermediate (the first convolution's output alone is 1,728 floats per model
and sample) goes through memory, and the backward pass of max-pooling
scatters into zero-filled tensors four times the size of its output. The
kernel instead takes one model at a time, keeps its activations in the
core's cache (the model's compiled forward pass,
:mod:`zoo.models.lenet_compiled`), and sends each pooling window's gradient
to its maximum only, so the backward pass through the convolutions touches a
quarter of the positions. Models are split over threads (ctypes releases the
GIL). The numbers are autograd's up to float32 rounding (summation order);
``tests/test_sgd_engines.py`` checks gradients, logits and whole trained
rounds against autograd.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from zoo.models import lenet_compiled
from zoo.population import declared

_P, _I64, _INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int


def kernels(model) -> ctypes.CDLL | None:
    """The gradient and logits kernels compiled for this LeNet's shape, or None (no compiler, or not a LeNet)."""
    if not declared(model, "kernel_constants"):  # not LeNet as the kernel computes it
        return None
    library = lenet_compiled.library(model.kernel_constants(), Path(__file__).with_name("lenet_gradient.c"))
    if library is None:
        return None
    gradient = library.zoo_lenet_train_gradient
    gradient.argtypes, gradient.restype = [_P, _P, _I64, _P, _I64, _P, _INT, _P, _P], None
    return library


class LeNetGradients(lenet_compiled.CompiledLeNet):
    """Gradients and logits of chosen rows of a population ``theta[M, P]`` (float32, contiguous, on the CPU)."""

    def __init__(self, model, threads: int | None = None):
        super().__init__(kernels(model), model.num_classes, threads or torch.get_num_threads())

    def gradient(self, theta: torch.Tensor, grad: torch.Tensor, rows: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor) -> torch.Tensor:
        """Overwrite ``grad[rows]`` with the gradient of each row's mean cross-entropy on ``(x, y)``; return those means."""
        theta, x, y = lenet_compiled.ready(theta), lenet_compiled.ready(x), y.to(torch.int64).contiguous()
        assert grad.is_contiguous() and grad.shape == theta.shape
        rows = rows.to(torch.int64).contiguous()
        loss = torch.empty(len(rows))
        gradient = self.library.zoo_lenet_train_gradient
        calls = []
        first = 0
        for part in self.split(rows):
            out = loss[first:first + len(part)]
            calls.append(lambda part=part, out=out: gradient(theta.data_ptr(), grad.data_ptr(), theta.shape[1],
                                                             part.data_ptr(), len(part), x.data_ptr(), len(x),
                                                             y.data_ptr(), out.data_ptr()))
            first += len(part)
        self.run(calls)
        return loss
