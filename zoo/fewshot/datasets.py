"""Few-shot datasets: each is split into disjoint base, val and novel classes.

Base classes pre-train the backbone, val classes are for choosing settings,
novel classes supply the episodes. Every dataset loads a split as an
:class:`ImageSet` of uint8 images; the loaders live in one module per source
(:mod:`~zoo.fewshot.omniglot`, :mod:`~zoo.fewshot.cifar100`,
:mod:`~zoo.fewshot.miniimagenet`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from zoo.data import data_root

SPLITS = ("base", "val", "novel")


@dataclass(frozen=True)
class ImageSet:
    """``images[N, C, H, W]`` uint8, ``labels[N]`` in 0..len(classes)-1, class names."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise ValueError("images and labels differ in length")


@dataclass(frozen=True)
class Source:
    """How to load one dataset: ``load(split, image_size, download) -> ImageSet``."""

    name: str
    channels: int
    image_size: int  # the size the standard benchmark uses
    flip: bool  # whether a horizontal flip is a label-preserving augmentation
    load: Callable[[str, int, bool], ImageSet]


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Square uint8 images at another side length (antialiased bilinear)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = torch.from_numpy(images).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


def select_classes(images: np.ndarray, labels: np.ndarray, names, keep) -> ImageSet:
    """The images of the classes named in ``keep``, relabelled in that order."""
    names = list(names)
    lookup = {names.index(name): i for i, name in enumerate(keep)}
    mask = np.isin(labels, list(lookup))
    relabelled = np.array([lookup[int(v)] for v in labels[mask]], dtype=np.int64)
    return ImageSet(images[mask], relabelled, tuple(keep))


def sources() -> dict[str, Source]:
    from zoo.fewshot import cifar100, miniimagenet, omniglot

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
