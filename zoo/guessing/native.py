"""Compiled kernels: C sources beside this module, built on first use with the system's C compiler.

The kernels are called through ctypes (which releases the GIL, so search
threads run them in parallel):

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
- ``zoo_lenet_fc1_moves`` (``zoo/models/lenet_moves.c``): the logits of
  pattern search's moves of one fc1 parameter of LeNet, from the point's
  activations (:mod:`zoo.models.lenet_moves`).
- ``zoo_lenet_train_gradient`` and ``zoo_lenet_train_logits``
  (``zoo/optimizers/lenet_gradient.c``): SGD's LeNet gradient and its
  steering check's logits, one model at a time
  (:mod:`zoo.optimizers.lenet_gradient`), compiled once per LeNet shape.

A library is cached under ``zoo.data.cache_dir()``, keyed by its sources, its
compile-time constants and the CPU it was built for (``-march=native``).
Without a working compiler the callers fall back to torch operations, which
give the same decisions; a warning says so once.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import subprocess
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

from zoo.data import cache_dir

SOURCES = Path(__file__).parent  # philox.c, philox.h, lenet.c: package data beside this module; ../models/lenet_moves.c,
# ../optimizers/lenet_gradient.c
WARNINGS = ("-Wall", "-Wextra")  # the sources compile without a warning (tests/test_guess_check.py)

_P = ctypes.c_void_p
_I64, _INT, _U64, _F = ctypes.c_int64, ctypes.c_int, ctypes.c_uint64, ctypes.c_float


def _cpu_identity() -> str:
    """What -march=native compiles for: the machine and its CPU flags."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return platform.machine() + flags


def compile_library(sources: tuple[str, ...], defines: tuple[tuple[str, int], ...], out: Path,
                    flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Compile ``sources`` (paths relative to :data:`SOURCES`) into the shared library ``out``; raises if the compiler fails.

    ``flags`` are extra compiler options, e.g. ``-mno-avx512f`` to build the AVX2 path of ``philox.c`` on a CPU
    that has AVX-512.
    """
    command = [os.environ.get("CC", "cc"), "-O3", "-march=native", *flags, *WARNINGS, "-shared", "-fPIC", f"-I{SOURCES}",
               *(f"-D{name}={value}" for name, value in defines), "-o", str(out), *(str(SOURCES / name) for name in sources)]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)


@lru_cache(maxsize=None)
def build(sources: tuple[str, ...], defines: tuple[tuple[str, int], ...] = ()) -> ctypes.CDLL | None:
    """The library compiled from ``sources`` with ``-DNAME=value`` for each define; None without a compiler."""
    texts = [(SOURCES / name).read_text() for name in (*sources, "philox.h")]
    tag = hashlib.sha256(repr((texts, defines, _cpu_identity())).encode()).hexdigest()[:16]
    library = cache_dir() / f"kernel-{tag}.so"
    if not library.exists():
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(tmp) / "kernel.so"
            try:
                compile_library(sources, defines, built)
            except (OSError, subprocess.SubprocessError) as error:
                warnings.warn(f"Guess & Check: could not compile its C kernels ({error}); using torch operations "
                              "instead: the same results, far more slowly. Install a C compiler or set CC.",
                              RuntimeWarning, stacklevel=2)
                return None
            os.replace(built, library)  # atomic: a concurrent build never leaves half a library
    return ctypes.CDLL(str(library))


def philox_fill():
    """``zoo_philox_fill(out, rows, width, first, key, step)``, or None."""
    library = build(("philox.c",))
    if library is None:
        return None
    fill = library.zoo_philox_fill
    fill.argtypes, fill.restype = [_P, _I64, _I64, _U64, _U64, _F], None
    return fill


def lenet_shape(model) -> tuple[tuple[str, int], ...]:
    """The compile-time constants of ``lenet.c`` for this LeNet."""
    channels, c1, c2, _ = model.sizes
    f1, f2 = (block.shape[0] for block in model.blocks if block.name in ("fc1_w", "fc2_w"))
    return (("CH", channels), ("N", model.input_shape[-1]), ("C1", c1), ("C2", c2), ("F1", f1), ("F2", f2),
            ("NC", model.num_classes))


@lru_cache(maxsize=None)
def lenet_fc1_moves():
    """``zoo_lenet_fc1_moves(...)`` (``zoo/models/lenet_moves.c``): logits of LeNet's fc1 moves, or None."""
    library = build(("../models/lenet_moves.c",))
    if library is None:
        return None
    moves = library.zoo_lenet_fc1_moves
    moves.argtypes, moves.restype = [_I64] * 6 + [_P] * 12, None
    return moves


def lenet_judge(model):
    """``zoo_lenet_judge(...)`` compiled for this LeNet's shape, or None."""
    library = build(("lenet.c", "philox.c"), lenet_shape(model))
    if library is None:
        return None
    judge = library.zoo_lenet_judge
    judge.argtypes = [_P, _I64, _I64, _INT, _U64, _U64, _F, _P, _INT, _P, _F, _P, _P, _P]
    judge.restype = None
    return judge
