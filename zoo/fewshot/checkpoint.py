"""Backbone checkpoints: one file holds the weights, their metadata and, until
pre-training completes, the state needed to resume it.

A checkpoint is a ``torch.save`` dict of tensors and plain values only, so it
loads with ``weights_only=True``::

    format      "zoo-resnet12/1"
    meta        dataset, split, width, in_channels, image_size, mean, std,
                classes, epochs, epochs_done, complete, train_acc, holdout_acc,
                feature_mean (mean pooled feature of the base training images;
                written once complete)
    config      the pre-training settings (resuming requires the same ones)
    backbone    ResNet-12 state dict
    head        the base-class linear classifier's state dict
    optimizer   optimizer state (dropped once complete)
    history     one dict per finished epoch

Relative paths given to :func:`resolve` are looked up in the working
directory first, then under the data root.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import torch

from zoo.data import data_root
from zoo.fewshot.backbone import ResNet12

FORMAT = "zoo-resnet12/1"


def resolve(path) -> Path:
    """An existing checkpoint file for ``path`` (absolute, cwd-relative or data-root-relative)."""
    path = Path(path).expanduser()
    root = data_root()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path] + ([root / path] if root is not None else [])
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no backbone checkpoint at {tried}; create one with `zoo pretrain --out {path}` or fix the path")


def save(path: Path, state: dict) -> None:
    """Write atomically, so an interruption never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a zoo ResNet-12 checkpoint (expected format {FORMAT!r}); create one with `zoo pretrain`")
    return state


@lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> dict:
    state = load(path)
    meta = state["meta"]
    if not meta["complete"]:
        raise ValueError(f"{path} is unfinished ({meta['epochs_done']} of {meta['epochs']} epochs); "
                         "run the same `zoo pretrain` command again to finish it")
    return state


def _located(path) -> tuple[Path, int]:
    path = resolve(path)
    return path, path.stat().st_mtime_ns


def read(path) -> dict:
    """A finished checkpoint, resolved and loaded once per process (treat it as read-only)."""
    return _read(*_located(path))


@lru_cache(maxsize=4)
def _backbone(path: Path, mtime_ns: int, device: str) -> ResNet12:
    state = _read(path, mtime_ns)
    model = ResNet12(state["meta"]["in_channels"], state["meta"]["width"])
    model.load_state_dict(state["backbone"])
    return model.to(device).eval().requires_grad_(False)


def frozen_backbone(path, device: str = "cpu") -> tuple[ResNet12, dict]:
    """A finished checkpoint's backbone in eval mode with gradients off, and its metadata (cached)."""
    where = _located(path)
    return _backbone(*where, str(device)), _read(*where)["meta"]
