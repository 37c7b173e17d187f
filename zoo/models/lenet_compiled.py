"""LeNet populations run by C kernels on the CPU, one model at a time in the core's cache.

Torch runs a population's forward pass layer by layer over every model:
each intermediate (the first convolution's output alone is 1,728 floats per
model and sample for LeNet-0.5) goes through memory. The kernels of
``lenet_forward.c`` instead take one model and one sample at a time and keep
the activations in the core's cache; chosen rows of the population are split
over threads (ctypes releases the GIL). Their logits are torch's up to
float32 rounding (summation order): ``tests/test_sgd_engines.py`` and
``tests/test_anytime_evaluation.py`` compare them on real data.
"""

from __future__ import annotations

import ctypes
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import torch

from zoo.compiled import build

FORWARD = Path(__file__).with_name("lenet_forward.c")
_P, _I64, _INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
# The threads a kernel splits its rows over unless told: torch's count when zoo is imported (OMP_NUM_THREADS or the
# cores), not the count inside a block of small torch operations that runs them on one thread.
THREADS = torch.get_num_threads()


def library(constants: tuple[tuple[str, int], ...], *sources: Path) -> ctypes.CDLL | None:
    """The forward pass and ``sources`` compiled for a LeNet of these ``kernel_constants()``; None without a compiler."""
    library = build((FORWARD, *sources), constants)
    if library is None:
        return None
    logits = library.zoo_lenet_logits
    logits.argtypes, logits.restype = [_P, _I64, _P, _I64, _P, _INT, _P], None
    return library


class CompiledLeNet:
    """Logits of chosen rows of a population ``theta[M, P]`` (float32, contiguous, on the CPU) from ``library``."""

    def __init__(self, library: ctypes.CDLL | None, classes: int, threads: int | None = None):
        self.library, self.classes = library, classes
        self.threads = max(1, threads or THREADS)
        self.pool = _pool(self.threads) if self.threads > 1 else None

    @property
    def available(self) -> bool:
        return self.library is not None

    def split(self, rows: torch.Tensor) -> list[torch.Tensor]:
        """``rows`` in one part per thread (fewer when there are fewer rows)."""
        parts = max(1, min(self.threads, len(rows)))
        return [part for part in rows.tensor_split(parts) if len(part)]

    def run(self, calls) -> None:
        """Run the kernel calls, on the pool's threads when there are several."""
        if self.pool is None or len(calls) == 1:
            for call in calls:
                call()
        else:
            for future in [self.pool.submit(call) for call in calls]:
                future.result()

    def logits(self, theta: torch.Tensor, rows: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[len(rows), N, C]`` of the chosen rows on every sample of ``x``."""
        theta, x = ready(theta), ready(x)
        rows = rows.to(torch.int64).contiguous()
        out = torch.empty(len(rows), len(x), self.classes)
        kernel = self.library.zoo_lenet_logits
        calls = []
        first = 0
        for part in self.split(rows):
            block = out[first:first + len(part)]
            calls.append(lambda part=part, block=block: kernel(theta.data_ptr(), theta.shape[1], part.data_ptr(), len(part),
                                                               x.data_ptr(), len(x), block.data_ptr()))
            first += len(part)
        self.run(calls)
        return out


@lru_cache(maxsize=None)
def forward_kernel(constants: tuple[tuple[str, int], ...]) -> CompiledLeNet | None:
    """The logits kernel for a LeNet of these ``kernel_constants()``, built once per process; None without a compiler."""
    compiled = CompiledLeNet(library(constants), dict(constants)["NC"])
    return compiled if compiled.available else None


@lru_cache(maxsize=None)
def _pool(threads: int) -> ThreadPoolExecutor:
    """One pool per thread count for the whole process, not one per call."""
    return ThreadPoolExecutor(threads, thread_name_prefix="zoo-lenet")


def ready(t: torch.Tensor) -> torch.Tensor:
    """``t`` as the kernels take it; they read float32 memory on the CPU."""
    if t.device.type != "cpu" or t.dtype != torch.float32:
        raise ValueError("the LeNet kernels take float32 tensors on the CPU")
    return t.detach().contiguous()
