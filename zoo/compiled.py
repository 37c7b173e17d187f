"""C kernels: sources that ship as package data, compiled on first use with the system's C compiler.

A module that owns a kernel keeps its ``.c`` file beside it and loads it
with :func:`build`; the kernels are called through ctypes, which releases the
GIL, so threads run them in parallel. A library is cached under
``zoo.data.cache_dir()``, keyed by its sources (headers of their folders
included, and the shared ones beside this module), its compile-time constants and the CPU it was built for
(``-march=native``). Without a working compiler :func:`build` warns once per
library and returns None, and the caller falls back to torch operations,
which give the same decisions.
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

WARNINGS = ("-Wall", "-Wextra")  # every source compiles without a warning (tests/test_native.py)
SHARED = Path(__file__).parent  # headers every kernel may include (dot.h)


def _cpu_identity() -> str:
    """What -march=native compiles for: the machine and its CPU flags."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return platform.machine() + flags


def _folders(sources: tuple[Path, ...]) -> list[Path]:
    return sorted({SHARED, *(source.parent for source in sources)})


def compile_library(sources: tuple[Path, ...], defines: tuple[tuple[str, int], ...], out: Path,
                    flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Compile ``sources`` into the shared library ``out``; raises if the compiler fails.

    Each source's folder and :data:`SHARED` are on the include path. ``flags`` are extra compiler
    options, e.g. ``-mno-avx512f`` to build the AVX2 path of ``philox.c`` on a
    CPU that has AVX-512.
    """
    command = [os.environ.get("CC", "cc"), "-O3", "-march=native", *flags, *WARNINGS, "-shared", "-fPIC",
               *(f"-I{folder}" for folder in _folders(sources)),
               *(f"-D{name}={value}" for name, value in defines), "-o", str(out), *map(str, sources)]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)


@lru_cache(maxsize=None)
def build(sources: tuple[Path, ...], defines: tuple[tuple[str, int], ...] = ()) -> ctypes.CDLL | None:
    """The library compiled from ``sources`` with ``-DNAME=value`` for each define; None without a compiler."""
    headers = [header for folder in _folders(sources) for header in sorted(folder.glob("*.h"))]
    texts = [path.read_text() for path in (*sources, *headers)]
    tag = hashlib.sha256(repr((texts, defines, _cpu_identity())).encode()).hexdigest()[:16]
    library = cache_dir() / f"kernel-{tag}.so"
    if not library.exists():
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(tmp) / "kernel.so"
            try:
                compile_library(sources, defines, built)
            except (OSError, subprocess.SubprocessError) as error:
                names = ", ".join(source.name for source in sources)
                warnings.warn(f"could not compile {names} ({error}); using torch operations instead: the same "
                              "results, far more slowly. Install a C compiler or set CC.", RuntimeWarning, stacklevel=2)
                return None
            os.replace(built, library)  # atomic: a concurrent build never leaves half a library
    return ctypes.CDLL(str(library))
