"""LeNet's loss gradient and logits for a population, computed by a C kernel (``lenet_gradient.c``).

Autograd runs a population of LeNet-0.5 models on a few samples as some
thirty torch operations a step, each over the whole population: every
intermediate (the first convolution's output alone is 1,728 floats per model
and sample) goes through memory, and the backward pass of max-pooling
scatters into zero-filled tensors four times the size of its output. The
kernel instead takes one model at a time, keeps its activations in the
core's cache, and sends each pooling window's gradient to its maximum only,
so the backward pass through the convolutions touches a quarter of the
positions. Models are split over ``threads`` threads (ctypes releases the
GIL). The numbers are autograd's up to float32 rounding (summation order);
``tests/test_sgd_engines.py`` checks gradients, logits and whole trained
rounds against autograd.
"""

from __future__ import annotations

import ctypes
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import torch

from zoo.compiled import build
from zoo.models.lenet import LeNet

_P, _I64, _INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int


def kernels(model):
    """``(gradient, logits)`` compiled for this LeNet's shape, or None (no compiler, or not a LeNet)."""
    if type(model) is not LeNet:  # a subclass may compute something else
        return None
    library = build((Path(__file__).with_name("lenet_gradient.c"),), model.kernel_constants())
    if library is None:
        return None
    gradient, logits = library.zoo_lenet_train_gradient, library.zoo_lenet_train_logits
    gradient.argtypes, gradient.restype = [_P, _P, _I64, _P, _I64, _P, _INT, _P, _P], None
    logits.argtypes, logits.restype = [_P, _I64, _P, _I64, _P, _INT, _P], None
    return gradient, logits


class LeNetGradients:
    """Gradients and logits of chosen rows of a population ``theta[M, P]`` (float32, contiguous, on the CPU)."""

    def __init__(self, model, threads: int | None = None):
        self.model = model
        self.kernels = kernels(model)
        self.threads = max(1, threads or torch.get_num_threads())
        self.pool = _pool(self.threads) if self.threads > 1 else None

    @property
    def available(self) -> bool:
        return self.kernels is not None

    def _split(self, rows: torch.Tensor):
        parts = max(1, min(self.threads, len(rows)))
        return [part for part in rows.tensor_split(parts) if len(part)]

    def _run(self, calls) -> None:
        if self.pool is None or len(calls) == 1:
            for call in calls:
                call()
        else:
            for future in [self.pool.submit(call) for call in calls]:
                future.result()

    def gradient(self, theta: torch.Tensor, grad: torch.Tensor, rows: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor) -> torch.Tensor:
        """Overwrite ``grad[rows]`` with the gradient of each row's mean cross-entropy on ``(x, y)``; return those means."""
        theta, x, y = _ready(theta), _ready(x), y.to(torch.int64).contiguous()
        assert grad.is_contiguous() and grad.shape == theta.shape
        rows = rows.to(torch.int64).contiguous()
        loss = torch.empty(len(rows))
        gradient = self.kernels[0]
        calls = []
        first = 0
        for part in self._split(rows):
            out = loss[first:first + len(part)]
            calls.append(lambda part=part, out=out: gradient(theta.data_ptr(), grad.data_ptr(), theta.shape[1],
                                                             part.data_ptr(), len(part), x.data_ptr(), len(x),
                                                             y.data_ptr(), out.data_ptr()))
            first += len(part)
        self._run(calls)
        return loss

    def logits(self, theta: torch.Tensor, rows: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[len(rows), N, C]`` of the chosen rows on every sample of ``x``."""
        theta, x = _ready(theta), _ready(x)
        rows = rows.to(torch.int64).contiguous()
        out = torch.empty(len(rows), len(x), self.model.num_classes)
        kernel = self.kernels[1]
        calls = []
        first = 0
        for part in self._split(rows):
            block = out[first:first + len(part)]
            calls.append(lambda part=part, block=block: kernel(theta.data_ptr(), theta.shape[1], part.data_ptr(), len(part),
                                                               x.data_ptr(), len(x), block.data_ptr()))
            first += len(part)
        self._run(calls)
        return out


@lru_cache(maxsize=None)
def _pool(threads: int) -> ThreadPoolExecutor:
    """One pool per thread count for the whole process, not one per round."""
    return ThreadPoolExecutor(threads, thread_name_prefix="zoo-lenet-gradient")


def _ready(t: torch.Tensor) -> torch.Tensor:
    if t.device.type != "cpu" or t.dtype != torch.float32:
        raise ValueError("the LeNet gradient kernel takes float32 tensors on the CPU")
    return t.detach().contiguous()
