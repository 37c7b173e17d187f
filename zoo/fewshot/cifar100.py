"""CIFAR-FS and FC100: few-shot splits of CIFAR-100's 100 classes.

Both pool CIFAR-100's training and test images (600 per class) and read the
official Python release (``cifar-100-python/{train,test,meta}``) under the data
root, which torchvision's ``CIFAR100(root, download=True)`` creates when
``download`` is on.

- CIFAR-FS (Bertinetto et al., 2019): 64 base, 16 val and 20 novel classes,
  split at random over fine classes; the val and novel lists are below.
- FC100 (Oreshkin et al., 2018): split by superclass so that novel classes
  are semantically far from base ones: 12 base, 4 val and 4 novel
  superclasses (60/20/20 classes), as coarse-label indices below.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from zoo.data import data_root
from zoo.data.plain_pickle import load_plain
from zoo.errors import ZooError
from zoo.fewshot.images import ImageSet, Source, resize, select_classes

FOLDER = "cifar-100-python"

CIFAR_FS_VAL = (
    "beaver", "beetle", "butterfly", "camel", "cattle", "crab", "crocodile", "flatfish",
    "lamp", "maple_tree", "motorcycle", "otter", "sea", "shark", "television", "tractor",
)
CIFAR_FS_NOVEL = (
    "baby", "bed", "bicycle", "chimpanzee", "fox", "leopard", "man", "pickup_truck", "plain", "poppy",
    "rocket", "rose", "snail", "sweet_pepper", "table", "telephone", "wardrobe", "whale", "woman", "worm",
)
FC100_SUPERCLASSES = {
    "base": (1, 2, 3, 4, 5, 6, 9, 10, 15, 17, 18, 19),
    "val": (8, 11, 13, 16),
    "novel": (0, 7, 12, 14),
}


def find_folder(root: Path | None, download: bool) -> Path:
    candidates = [] if root is None else [root / FOLDER, root / "cifar100" / FOLDER]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("train", "test", "meta")):
            return folder
    if download and root is not None:
        # torchvision downloads and checks the archive; its reader (an unrestricted unpickler) is not used
        from torchvision.datasets import CIFAR100
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(CIFAR100.url, str(root), filename=CIFAR100.filename, md5=CIFAR100.tgz_md5)
        return root / FOLDER
    raise FileNotFoundError(
        f"no CIFAR-100 under data root {root}: need {FOLDER}/train, test and meta (the official Python release) in the "
        "data root or <data root>/cifar100; set download = true to fetch it with torchvision"
    )


def _unpickle(path: Path) -> dict:
    return load_plain(path, encoding="latin1")  # never pickle.load: the file may come from a stranger


@lru_cache(maxsize=1)
def load_all(folder: Path) -> dict:
    """All 60,000 images with fine and coarse labels and the fine class names."""
    parts = [_unpickle(folder / name) for name in ("train", "test")]
    try:
        data = {
            "images": np.concatenate([np.asarray(p["data"], dtype=np.uint8) for p in parts]).reshape(-1, 3, 32, 32),
            "fine": np.concatenate([p["fine_labels"] for p in parts]).astype(np.int64),
            "coarse": np.concatenate([p["coarse_labels"] for p in parts]).astype(np.int64),
            "names": tuple(str(n) for n in _unpickle(folder / "meta")["fine_label_names"]),
        }
    except (KeyError, ValueError, TypeError) as error:
        raise ZooError(f"{folder}: not the CIFAR-100 Python release ({type(error).__name__}: {error}); "
                       "replace it with the official files") from None
    if not len(data["images"]) == len(data["fine"]) == len(data["coarse"]):
        raise ZooError(f"{folder}: images and labels differ in number; replace it with the official files")
    return data


def _classes_cifar_fs(data: dict, split: str) -> list[str]:
    if split == "val":
        return list(CIFAR_FS_VAL)
    if split == "novel":
        return list(CIFAR_FS_NOVEL)
    return [n for n in data["names"] if n not in CIFAR_FS_VAL + CIFAR_FS_NOVEL]


def _classes_fc100(data: dict, split: str) -> list[str]:
    fine_of = {int(f): int(c) for f, c in zip(data["fine"], data["coarse"])}
    return [n for i, n in enumerate(data["names"]) if fine_of[i] in FC100_SUPERCLASSES[split]]


def _loader(classes_of):
    def load(split: str, image_size: int, download: bool = False) -> ImageSet:
        data = load_all(find_folder(data_root(), download))
        chosen = select_classes(data["images"], data["fine"], data["names"], classes_of(data, split))
        return ImageSet(resize(chosen.images, image_size), chosen.labels, chosen.classes)

    return load


CIFAR_FS = Source("cifar_fs", channels=3, image_size=32, flip=True, load=_loader(_classes_cifar_fs))
FC100 = Source("fc100", channels=3, image_size=32, flip=True, load=_loader(_classes_fc100))
