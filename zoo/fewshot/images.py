"""What a few-shot loader returns: an :class:`ImageSet`, described by its :class:`Source`.

The loaders (:mod:`~zoo.fewshot.omniglot`, :mod:`~zoo.fewshot.cifar100`,
:mod:`~zoo.fewshot.miniimagenet`) build on this module, and
:mod:`~zoo.fewshot.datasets` collects the loaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F


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
