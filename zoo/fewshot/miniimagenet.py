"""mini-ImageNet (Vinyals et al., 2016) with the split of Ravi & Larochelle (2017).

100 ImageNet classes, 600 images each: 64 base, 16 val, 20 novel. ImageNet's
licence keeps it from being downloaded here; point the data root at a folder
``miniimagenet/`` (or ``mini-imagenet/``, ``miniImageNet/``, or the data root
itself) holding ``images/`` and the split files ``train.csv``, ``val.csv`` and
``test.csv`` (columns ``filename,label``; base = train, val = val,
novel = test). Images are decoded once, resized to ``image_size`` (84 by
default) and cached under ``zoo.data.cache_dir()``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from zoo.data import cached_arrays, data_root
from zoo.fewshot.images import ImageSet, Source

FOLDERS = ("miniimagenet", "mini-imagenet", "miniImageNet", "")
CSV = {"base": "train.csv", "val": "val.csv", "novel": "test.csv"}


def find_folder(root: Path | None) -> Path:
    for name in FOLDERS if root is not None else ():
        folder = root / name if name else root
        if (folder / "images").is_dir() and all((folder / f).is_file() for f in CSV.values()):
            return folder
    raise FileNotFoundError(
        f"no mini-ImageNet under data root {root}: need images/ and train.csv, val.csv, test.csv (Ravi & Larochelle split) "
        f"in <data root>/miniimagenet or the data root itself"
    )


def read_split(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="") as fh:
        rows = [(row["filename"], row["label"]) for row in csv.DictReader(fh)]
    if not rows:
        raise ValueError(f"{path}: no rows; expected a header 'filename,label' and one row per image")
    return rows


def decode(folder: Path, rows: list[tuple[str, str]], image_size: int) -> dict[str, np.ndarray]:
    classes = sorted({label for _, label in rows})
    index = {name: i for i, name in enumerate(classes)}
    images = np.empty((len(rows), 3, image_size, image_size), dtype=np.uint8)
    for i, (filename, _) in enumerate(rows):
        with Image.open(folder / "images" / filename) as img:
            small = img.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
        images[i] = np.asarray(small).transpose(2, 0, 1)
    labels = np.array([index[label] for _, label in rows], dtype=np.int64)
    return {"images": images, "labels": labels, "names": np.array(classes)}


def load(split: str, image_size: int, download: bool = False) -> ImageSet:
    folder = find_folder(data_root())
    split_file = folder / CSV[split]
    rows = read_split(split_file)
    arrays = cached_arrays([split_file, folder / "images"], f"miniimagenet-{split}-{image_size}", lambda: decode(folder, rows, image_size))
    return ImageSet(arrays["images"], arrays["labels"], tuple(str(n) for n in arrays["names"]))


SOURCE = Source("miniimagenet", channels=3, image_size=84, flip=True, load=load)
