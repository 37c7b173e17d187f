"""CIFAR-10 with a choice of classes, normalized by the training set's channel statistics.

Sources, chosen by the ``source`` parameter:

- ``folder``: under the data root (``<root>`` or ``<root>/cifar10``), the
  first of: the ImageFolder tarball ``cifar10-jpeg.tar.gz``
  (``train/<class>/*.jpg``, ``test/<class>/*.jpg``), the same tree unpacked
  (``cifar10-jpeg/`` or ``cifar10/``), or torchvision's
  ``cifar-10-batches-py`` pickles. Classes are numbered in the sorted order
  of their folder names, as ``torchvision.datasets.ImageFolder`` does, which
  for CIFAR-10 is its official label order.
- ``torchvision``: ``torchvision.datasets.CIFAR10`` under the data root,
  downloading when ``download = true``.
- ``auto`` (default): ``folder`` when the data root holds CIFAR-10, else
  ``torchvision``.

The pickles are read by :mod:`zoo.data.plain_pickle`, which rebuilds arrays,
lists and strings and refuses anything else a crafted file might name.

Images are decoded once, straight from the tarball's stream (no unpacked
copy of 60,000 small files), and the arrays are cached under
:func:`zoo.data.cache_dir`; later loads read the cache.
"""

from __future__ import annotations

import io
import tarfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from zoo.data import cached_arrays, data_root, file_digests
from zoo.data.plain_pickle import load_plain
from zoo.errors import ZooError
from zoo.hookspecs import hookimpl
from zoo.registry import Param, PluginSpec
from zoo.task import LabelledImages

SOURCES = ("auto", "folder", "torchvision")
TARBALL = "cifar10-jpeg.tar.gz"
TREES = ("cifar10-jpeg", "cifar10")
PICKLES = "cifar-10-batches-py"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
OFFICIAL_TEST = "official test set"


def _folders(root: Path) -> list[Path]:
    return [root, root / "cifar10"]


def find_layout(root: Path | None) -> tuple[str, Path] | None:
    """The first CIFAR-10 layout under ``root``: ``("tarball" | "tree" | "pickles", path)``."""
    if root is None:
        return None
    for folder in _folders(root):
        if (folder / TARBALL).is_file():
            return "tarball", folder / TARBALL
    for folder in _folders(root):
        for name in TREES:
            if (folder / name / "train").is_dir() and (folder / name / "test").is_dir():
                return "tree", folder / name
        if (folder / "train").is_dir() and (folder / "test").is_dir() and folder.name in TREES:
            return "tree", folder
    for folder in _folders(root):
        if (folder / PICKLES / "data_batch_1").is_file():
            return "pickles", folder / PICKLES
    return None


def _decode(blobs: list[bytes]) -> np.ndarray:
    """Encoded images (JPEG or PNG) to ``[N, 32, 32, 3]`` uint8."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")) for blob in blobs])


def _split(items: list[tuple[str, str, bytes]]) -> dict[str, np.ndarray]:
    """``(split, class folder, encoded image)`` triples to the four arrays."""
    names = sorted({cls for _, cls, _ in items})
    lookup = {name: i for i, name in enumerate(names)}
    arrays = {}
    for split in ("train", "test"):
        picked = [(cls, blob) for s, cls, blob in items if s == split]
        if not picked:
            raise ZooError(f"no {split} images found in the CIFAR-10 ImageFolder tree (expected {split}/<class>/*.jpg)")
        arrays[f"x_{split}"] = _decode([blob for _, blob in picked])
        arrays[f"y_{split}"] = np.array([lookup[cls] for cls, _ in picked], dtype=np.int64)
    return arrays


def _read_tarball(path: Path) -> dict[str, np.ndarray]:
    items = []
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.isfile() and len(parts) >= 3 and parts[-3] in ("train", "test") and member.name.lower().endswith(IMAGE_SUFFIXES):
                items.append((parts[-3], parts[-2], tar.extractfile(member).read()))
    items.sort(key=lambda item: item[:2])
    return _split(items)


def _tree_files(path: Path) -> list[Path]:
    return sorted(f for split in ("train", "test") for f in (path / split).glob("*/*") if f.suffix.lower() in IMAGE_SUFFIXES)


def _read_tree(path: Path) -> dict[str, np.ndarray]:
    return _split([(f.parts[-3], f.parts[-2], f.read_bytes()) for f in _tree_files(path)])


def _read_pickles(path: Path) -> dict[str, np.ndarray]:
    def load(names):
        xs, ys = [], []
        for name in names:
            batch = load_plain(path / name)  # never pickle.load: the file may come from a stranger
            try:
                xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
            except (KeyError, ValueError, TypeError) as error:
                raise ZooError(f"{path / name}: not a CIFAR-10 batch ({type(error).__name__}: {error}); "
                               "replace it with the official release") from None
            if len(xs[-1]) != len(ys[-1]):
                raise ZooError(f"{path / name}: {len(xs[-1])} images but {len(ys[-1])} labels; replace it with the official release")
        return np.concatenate(xs), np.concatenate(ys)

    x_train, y_train = load([f"data_batch_{i}" for i in range(1, 6)])
    x_test, y_test = load(["test_batch"])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _layout(root: Path | None) -> tuple[str, Path]:
    layout = find_layout(root)
    if layout is None:
        raise ZooError(
            f"no CIFAR-10 under data root {root}: expected {TARBALL}, an ImageFolder tree "
            f"({' or '.join(TREES)}/train/<class>/*.jpg and .../test/...) or {PICKLES}/ in the root or root/cifar10; "
            "or use source = \"torchvision\" with download = true"
        )
    return layout


def _layout_files(kind: str, path: Path) -> list[Path]:
    if kind == "tarball":
        return [path]
    if kind == "tree":
        return _tree_files(path)
    return [path / f"data_batch_{i}" for i in range(1, 6)] + [path / "test_batch"]


def _load_folder(root: Path | None) -> dict[str, np.ndarray]:
    kind, path = _layout(root)
    if kind == "tarball":
        return cached_arrays([path], "cifar10-tarball", lambda: _with_stats(_read_tarball(path)))
    if kind == "tree":
        return cached_arrays(_tree_files(path), "cifar10-tree", lambda: _with_stats(_read_tree(path)))
    return _load_pickles(path)


def _load_pickles(path: Path) -> dict[str, np.ndarray]:
    files = _layout_files("pickles", path)
    return cached_arrays(files, "cifar10-pickles", lambda: _with_stats(_read_pickles(path)))


def provenance(root: Path | None, source: str = "auto") -> dict:
    """Which data a number comes from: the source, its files' checksum and which test set it measures on."""
    if source == "auto":
        source = "folder" if find_layout(root) is not None else "torchvision"
    if source == "torchvision":  # torchvision checks the official files' md5 itself
        return {"source": "torchvision", "test": OFFICIAL_TEST}
    kind, path = _layout(root)
    return {"source": "folder", "root": str(root.resolve()), "files": str(path.relative_to(root)), "layout": kind,
            "sha256": file_digests(_layout_files(kind, path)), "test": OFFICIAL_TEST}


def _load_torchvision(root: Path | None, download: bool) -> dict[str, np.ndarray]:
    """torchvision downloads ``cifar-10-batches-py`` (checking its checksum); zoo reads the pickles itself.

    torchvision's own reader unpickles without restriction, so it is never asked to read them.
    """
    from torchvision.datasets import CIFAR10 as TorchvisionCIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    if root is None:
        raise ZooError("source 'torchvision' needs a data root (--data-root, suite.data_root or ZOO_DATA_ROOT)")
    folder = Path(root) / PICKLES
    if not (folder / "data_batch_1").is_file():
        if not download:
            raise ZooError(f"no CIFAR-10 under data root {root}: expected {TARBALL}, an ImageFolder tree or {PICKLES}/ "
                           "(set download = true when online)")
        try:
            download_and_extract_archive(TorchvisionCIFAR10.url, str(root), filename=TorchvisionCIFAR10.filename,
                                         md5=TorchvisionCIFAR10.tgz_md5)
        except Exception as error:
            raise ZooError(f"CIFAR-10 download into {root} failed ({type(error).__name__}: {error})") from None
    return _load_pickles(folder)


def channel_stats(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel ``mean`` and ``std`` of ``[N, H, W, 3]`` uint8 images on the [0, 1] scale, from exact histograms."""
    levels = np.arange(256, dtype=np.float64)
    counts = [np.bincount(images[..., c].ravel(), minlength=256) for c in range(images.shape[-1])]
    mean = np.array([(h * levels).sum() / h.sum() for h in counts])
    var = np.array([(h * levels**2).sum() / h.sum() for h in counts]) - mean**2
    return {"mean": mean / 255.0, "std": np.sqrt(var) / 255.0}


def _with_stats(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {**arrays, **channel_stats(arrays["x_train"])}


@lru_cache(maxsize=2)
def load_arrays(root: Path | None, source: str = "auto", download: bool = False) -> dict[str, np.ndarray]:
    """The uint8 arrays (``[N, 32, 32, 3]`` images) and the training set's channel ``mean`` and ``std``."""
    if source == "auto":
        source = "folder" if find_layout(root) is not None else "torchvision"
    return _load_folder(root) if source == "folder" else _load_torchvision(root, download)


def to_tensor(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    """``[N, 32, 32, 3]`` uint8 to normalized ``[N, 3, 32, 32]`` float."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous().float() / 255.0
    return (x - torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)) / torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)


class CIFAR10(LabelledImages):
    """Colour images, 3x32x32, normalized with the training set's channel statistics."""

    salt = 0xC1FA

    def __init__(self, classes="pair", source="auto", download=False):
        if source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
        super().__init__(classes)
        self.source, self.download = source, download
        self.input_shape = (3, 32, 32)

    def arrays(self):
        return load_arrays(data_root(), self.source, self.download)

    def provenance(self):
        return provenance(data_root(), self.source)

    def to_tensor(self, images):
        arrays = self.arrays()
        return to_tensor(images, arrays["mean"], arrays["std"])


@hookimpl
def zoo_tasks():
    return [
        PluginSpec(
            "cifar10",
            CIFAR10,
            {
                "classes": Param("pair", "\"pair\": two classes drawn from the data seed; \"all\": all ten; or a list of class indices",
                             types=(str, list)),
                "source": Param("auto", "auto: whatever the data root holds; folder or torchvision to insist on one",
                                choices=SOURCES),
                "download": Param(False, "with source torchvision: fetch the official files when missing"),
            },
            "CIFAR-10 images (3x32x32); two classes per data seed by default",
        )
    ]
