"""The C kernels are real files of the package: they compile without a warning and an installed copy finds them."""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
import sys

import pytest
import torch

from zoo import compiled
from zoo.guessing import native, philox
from zoo.models import lenet_moves
from zoo.models.lenet import LeNet

REPO = native.SOURCES.parents[1]
PACKAGE = REPO / "zoo"


@pytest.mark.parametrize("input_shape, classes, width", [((1, 28, 28), 2, 0.5), ((3, 32, 32), 10, 1.0)])
def test_kernels_compile_without_warnings(tmp_path, input_shape, classes, width):
    model = LeNet(input_shape, classes, width=width)
    assert native.lenet_judge(model) is not None  # this machine has a C compiler
    for sources in [("guessing/lenet.c", "guessing/philox.c"), ("models/lenet_forward.c",),
                    ("models/lenet_forward.c", "optimizers/lenet_gradient.c")]:
        done = compiled.compile_library(tuple(PACKAGE / name for name in sources), model.kernel_constants(),
                                        tmp_path / "kernel.so")
        assert done.stderr == "" and "-Wall" in done.args and "-Wextra" in done.args, done.stderr


def test_the_pattern_search_kernel_compiles_without_warnings(tmp_path):
    assert lenet_moves.fc1_moves_kernel() is not None
    done = compiled.compile_library((PACKAGE / "models" / "lenet_moves.c",), (), tmp_path / "moves.so")
    assert done.stderr == "", done.stderr


def test_without_a_compiler_each_kernel_warns_and_its_caller_falls_back(tmp_path):
    """CC names no compiler and the cache is empty: every loader says so once and returns None."""
    probe = ("import warnings; warnings.simplefilter('always'); "
             "from zoo.guessing import native; from zoo.models import lenet_moves; from zoo.models.lenet import LeNet; "
             "from zoo.optimizers.lenet_gradient import kernels; from zoo.models.lenet_compiled import forward_kernel; "
             "model = LeNet((1, 28, 28), 2, 0.5); print(native.philox_fill(), native.lenet_judge(model), "
             "lenet_moves.fc1_moves_kernel(), kernels(model), forward_kernel(model.kernel_constants()))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CC": str(tmp_path / "no-compiler"), "ZOO_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0 and done.stdout.split() == ["None"] * 5, done.stderr
    for source in ("philox.c", "lenet.c, philox.c", "lenet_moves.c", "lenet_forward.c, lenet_gradient.c", "lenet_forward.c"):
        assert f"could not compile {source} (" in done.stderr and "Install a C compiler or set CC" in done.stderr
    assert not list((tmp_path / "cache").glob("kernel-*.so"))


def test_an_installed_copy_finds_its_c_sources(tmp_path):
    """Build the package as an installer lays it out (package data included) and compile from that copy."""
    lib = tmp_path / "lib"
    subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "--build-lib", str(lib)],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    assert {"philox.c", "philox.h", "lenet.c"} <= {p.name for p in (lib / "zoo" / "guessing").iterdir()}
    assert (lib / "zoo" / "dot.h").exists()
    assert (lib / "zoo" / "models" / "lenet_moves.c").exists()
    assert (lib / "zoo" / "optimizers" / "lenet_gradient.c").exists()
    assert {"lenet_forward.c", "lenet_forward.h"} <= {p.name for p in (lib / "zoo" / "models").iterdir()}
    probe = ("from zoo.guessing import native; from zoo.models.lenet import LeNet; from zoo.models import lenet_moves; "
             "from zoo.models.lenet_compiled import forward_kernel; "
             "from zoo.optimizers.lenet_gradient import kernels; print(native.__file__); "
             "print(native.philox_fill() is not None and lenet_moves.fc1_moves_kernel() is not None "
             "and kernels(LeNet((1, 28, 28), 2, 0.5)) is not None "
             "and forward_kernel(LeNet((1, 28, 28), 2, 0.5).kernel_constants()) is not None)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(lib), "ZOO_CACHE": str(tmp_path / "cache")})
    where, compiled = done.stdout.split()
    assert where.startswith(str(lib)) and compiled == "True", done.stderr
    assert list((tmp_path / "cache").glob("kernel-*.so"))


# x86-64 builds of philox.c: AVX-512 lanes, AVX2 lanes, and the compiler's own code for the portable loop.
PATHS = [(), ("-mno-avx512f",), ("-mno-avx512f", "-mno-avx2")] if platform.machine() in ("x86_64", "AMD64") else [()]


@pytest.mark.parametrize("flags", PATHS, ids=lambda flags: " ".join(flags) or "native")
def test_every_philox_path_gives_the_same_numbers(tmp_path, flags):
    """Each vector path against the one-counter-at-a-time path and the torch definition, on the same streams."""
    done = compiled.compile_library((native.SOURCES / "philox.c",), (), tmp_path / "philox.so", flags)
    assert done.stderr == "", done.stderr
    library = ctypes.CDLL(str(tmp_path / "philox.so"))
    for name in ("zoo_philox_fill", "zoo_philox_fill_portable"):
        getattr(library, name).argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64,
                                           ctypes.c_uint64, ctypes.c_float]
    # widths around the 8- and 16-counter blocks and the 256-counter batch; guess numbers past 2^32; extreme keys
    for rows, width, first, key in [(3, 11074, 0, 0), (5, 1003, 2**33 + 5, 2**63 - 12345), (7, 37, 7, 2**64 - 1),
                                    (2, 4 * 257 + 3, 2**32 - 1, 99), (4, 64, 1, 2)]:
        fast, plain = torch.empty(rows, width), torch.empty(rows, width)
        library.zoo_philox_fill(fast.data_ptr(), rows, width, first, key, philox.step(0.7))
        library.zoo_philox_fill_portable(plain.data_ptr(), rows, width, first, key, philox.step(0.7))
        assert torch.equal(fast, plain) and torch.equal(fast, philox.fill_torch(torch.empty(rows, width), first, key, 0.7))
