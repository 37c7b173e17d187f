"""Where data lives: the data root, the decode cache, and file readers.

The data root is where a user keeps datasets offline. It comes from the
command line (``--data-root``), the manifest (``suite.data_root``) or the
environment variable ``ZOO_DATA_ROOT``, in that order. Decoded arrays are
cached under ``ZOO_CACHE`` (default ``~/.cache/zoo``) so that a second run
does not decode the same images again; the source tree is never written.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np

_ROOT_OVERRIDE: Path | None = None


def set_data_root(path) -> None:
    """Set the data root for this process (the CLI and the manifest call this)."""
    global _ROOT_OVERRIDE
    _ROOT_OVERRIDE = Path(path).expanduser() if path else None


def data_root() -> Path | None:
    if _ROOT_OVERRIDE is not None:
        return _ROOT_OVERRIDE
    env = os.environ.get("ZOO_DATA_ROOT")
    return Path(env).expanduser() if env else None


def cache_dir() -> Path:
    path = Path(os.environ.get("ZOO_CACHE", Path.home() / ".cache" / "zoo")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_arrays(sources: list[Path], tag: str, decode: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Decode once, then load from an ``.npz`` keyed by the sources' paths, sizes and mtimes."""
    key = hashlib.sha256(tag.encode())
    for src in sources:
        stat = src.stat()
        key.update(f"{src.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    path = cache_dir() / f"{tag}-{key.hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    arrays = decode()
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: a crash never leaves half a cache file
    return arrays


def file_digests(files: list[Path]) -> str:
    """SHA-256 over the contents of ``files`` in order, remembered under the cache folder.

    A data source is part of a cell's identity (:attr:`zoo.cells.Cell.data`),
    so its checksum is asked for at every manifest load; it is computed once
    per set of files and reused while their paths, sizes and mtimes stay.
    """
    stats = hashlib.sha256()
    for src in files:
        stat = src.stat()
        stats.update(f"{src.resolve()}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    memo = cache_dir() / "digests" / stats.hexdigest()[:32]
    if memo.is_file():
        text = memo.read_text().strip()
        if len(text) == 64:
            return text
    digest = hashlib.sha256()
    for src in files:
        with open(src, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_name(memo.name + f".{os.getpid()}.tmp")
    tmp.write_text(digest.hexdigest())
    os.replace(tmp, memo)
    return digest.hexdigest()


def open_maybe_gzip(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    with open_maybe_gzip(path) as fh:
        raw = fh.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find_file(folders: list[Path], names: list[str]) -> Path | None:
    """The first existing ``folder/name`` (each name also tried with ``.gz``)."""
    for folder in folders:
        for name in names:
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    return candidate
    return None
