"""Few-shot datasets: each is split into disjoint base, val and novel classes.

Base classes pre-train the backbone, val classes are for choosing settings,
novel classes supply the episodes. Every dataset loads a split as an
:class:`~zoo.fewshot.images.ImageSet` of uint8 images; the loaders live in
one module per source (:mod:`~zoo.fewshot.omniglot`,
:mod:`~zoo.fewshot.cifar100`, :mod:`~zoo.fewshot.miniimagenet`) and this
module collects them.
"""

from __future__ import annotations

from functools import lru_cache

from zoo.data import data_root
from zoo.fewshot import cifar100, miniimagenet, omniglot
from zoo.fewshot.images import ImageSet, Source

SPLITS = ("base", "val", "novel")


def sources() -> dict[str, Source]:
    return {s.name: s for s in (omniglot.SOURCE, cifar100.CIFAR_FS, cifar100.FC100, miniimagenet.SOURCE)}


def source(name: str) -> Source:
    known = sources()
    if name not in known:
        raise ValueError(f"unknown few-shot dataset {name!r}; use one of {sorted(known)}")
    return known[name]


def load_split(name: str, split: str, image_size: int = 0, download: bool = False) -> ImageSet:
    """One split of a dataset at ``image_size`` (0: the dataset's standard size), kept in memory per data root."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    src = source(name)
    return _load(name, split, image_size or src.image_size, download, data_root())


@lru_cache(maxsize=8)
def _load(name: str, split: str, image_size: int, download: bool, root) -> ImageSet:
    return source(name).load(split, image_size, download)
