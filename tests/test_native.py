"""The C kernels are real files of the package: they compile without a warning and an installed copy finds them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from zoo.guessing import native
from zoo.models.lenet import LeNet

REPO = native.SOURCES.parents[1]


@pytest.mark.parametrize("input_shape, classes, width", [((1, 28, 28), 2, 0.5), ((3, 32, 32), 10, 1.0)])
def test_kernels_compile_without_warnings(tmp_path, input_shape, classes, width):
    model = LeNet(input_shape, classes, width=width)
    assert native.lenet_judge(model) is not None  # this machine has a C compiler
    done = native.compile_library(("lenet.c", "philox.c"), native.lenet_shape(model), tmp_path / "kernel.so")
    assert done.stderr == "" and "-Wall" in done.args and "-Wextra" in done.args, done.stderr


def test_an_installed_copy_finds_its_c_sources(tmp_path):
    """Build the package as an installer lays it out (package data included) and compile from that copy."""
    lib = tmp_path / "lib"
    subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "--build-lib", str(lib)],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    assert {"philox.c", "philox.h", "lenet.c"} <= {p.name for p in (lib / "zoo" / "guessing").iterdir()}
    probe = "from zoo.guessing import native; print(native.__file__); print(native.philox_fill() is not None)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(lib), "ZOO_CACHE": str(tmp_path / "cache")})
    where, compiled = done.stdout.split()
    assert where.startswith(str(lib)) and compiled == "True", done.stderr
    assert list((tmp_path / "cache").glob("kernel-*.so"))
