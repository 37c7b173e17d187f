"""The Guess & Check engine's C kernels (``philox.c``, ``lenet.c``, ``philox.h``), built by :mod:`zoo.compiled`.

- ``zoo_philox_fill`` (``philox.c``): rows of the Philox parameter stream
  (:mod:`zoo.guessing.philox` holds the definition and a torch version that
  gives the same numbers).
- ``zoo_lenet_judge`` (``lenet.c``): the first look at a chunk of LeNet guesses, one guess
  at a time and one training sample at a time, all in the core's cache: draw
  the guess's row (when the stream is Philox), then per sample the forward
  pass (5x5 convolutions with pooling, the dense layers) and the margin;
  stop at the first clear misclassification or close call. It is compiled
  once per LeNet shape, the shape fixed at compile time so that the compiler
  keeps the accumulators in registers.

Without a compiler the callers fall back to torch operations, which give the
same decisions.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from zoo.compiled import build

SOURCES = Path(__file__).parent  # philox.c, philox.h, lenet.c: package data beside this module

_P = ctypes.c_void_p
_I64, _INT, _U64, _F = ctypes.c_int64, ctypes.c_int, ctypes.c_uint64, ctypes.c_float


def philox_fill():
    """``zoo_philox_fill(out, rows, width, first, key, step)``, or None."""
    library = build((SOURCES / "philox.c",))
    if library is None:
        return None
    fill = library.zoo_philox_fill
    fill.argtypes, fill.restype = [_P, _I64, _I64, _U64, _U64, _F], None
    return fill


def lenet_judge(model):
    """``zoo_lenet_judge(...)`` compiled for this LeNet's shape, or None."""
    library = build((SOURCES / "lenet.c", SOURCES / "philox.c"), model.kernel_constants())
    if library is None:
        return None
    judge = library.zoo_lenet_judge
    judge.argtypes = [_P, _I64, _I64, _INT, _U64, _U64, _F, _P, _INT, _P, _F, _P, _P, _P]
    judge.restype = None
    return judge
