"""Read the plain pickles of the CIFAR releases without running anything they name.

``pickle.load`` calls whatever callable a file names, so a crafted file in a
data folder would run code as soon as a manifest points at it. The official
CIFAR-10 and CIFAR-100 Python releases hold only dicts, lists, strings, bytes,
integers and NumPy arrays; this reader resolves exactly the few NumPy and
codec functions that rebuild those, refuses every other name, and checks that
what comes out is plain data (no object arrays).
"""

from __future__ import annotations

import _codecs
import io
import pickle
from pathlib import Path

import numpy as np

from zoo.errors import ZooError

_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")


def _latin1(text, encoding="latin1"):
    """Python 3 writes bytes in a protocol-2 pickle as ``_codecs.encode(text, "latin1")``; nothing else is let through."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return _codecs.encode(text, encoding)


def _allowed() -> dict[tuple[str, str], object]:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric

    names = {("_codecs", "encode"): _latin1, ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in _MULTIARRAY:
        names[(module, "_reconstruct")] = multiarray._reconstruct
        names[(module, "scalar")] = multiarray.scalar
    for module in _NUMERIC:
        names[(module, "_frombuffer")] = numeric._frombuffer
    return names


class PlainUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names that rebuild NumPy arrays and bytes."""

    def find_class(self, module, name):
        try:
            return _allowed()[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: only plain arrays, lists and strings are read") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused a persistent id")


def _check_plain(value, depth: int = 0) -> None:
    """Plain data only: an object array could hold anything the caller did not expect."""
    if depth > 20:
        raise pickle.UnpicklingError("nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise pickle.UnpicklingError("refused an array of Python objects")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, depth + 1)
            _check_plain(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_plain(item, depth + 1)
    elif not isinstance(value, (str, bytes, int, float, bool, type(None), np.generic)):
        raise pickle.UnpicklingError(f"refused a value of type {type(value).__name__}")


def load_plain(path: Path, encoding: str = "bytes") -> dict:
    """The dict stored in ``path``; a file that names anything else is refused with a :class:`ZooError`."""
    try:
        with open(path, "rb") as fh:
            value = PlainUnpickler(io.BufferedReader(fh), encoding=encoding).load()
        _check_plain(value)
    except OSError as error:
        raise ZooError(f"{path}: cannot be read ({error})") from None
    except Exception as error:  # UnpicklingError, EOFError, ValueError, ...: a damaged or crafted file
        raise ZooError(f"{path}: not a plain data pickle ({type(error).__name__}: {error}); "
                       "replace it with the dataset's official release") from None
    if not isinstance(value, dict):
        raise ZooError(f"{path}: expected a dict of arrays, got {type(value).__name__}; replace it with the official release")
    return value
