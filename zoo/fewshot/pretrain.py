"""Pre-train a ResNet-12 with cross-entropy on a dataset's base classes.

Standard recipe: SGD with Nesterov momentum and weight decay, a cosine (or
step) learning-rate schedule computed from the global step, random crops
from a zero-padded image and, where it preserves labels, horizontal flips.
A fraction of each base class is held out to report accuracy on unseen
images. The checkpoint is rewritten after every epoch; calling again with the
same settings resumes after the last finished epoch. Every epoch's data order
and augmentation come from a generator seeded by (seed, epoch), so a resumed
run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo import __version__
from zoo.fewshot import checkpoint
from zoo.fewshot.backbone import ResNet12
from zoo.fewshot.datasets import load_split, source
from zoo.optimizer import derive_seed

SCHEDULES = ("cosine", "step")


@dataclass(frozen=True)
class PretrainConfig:
    dataset: str = "omniglot"
    width: float = 1.0
    epochs: int = 60
    batch: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    image_size: int = 0  # 0: the dataset's standard size
    holdout: float = 0.1
    seed: int = 0

    def check(self) -> None:
        source(self.dataset)
        problems = [
            (self.width <= 0, "width must be positive"),
            (self.epochs < 1, "epochs must be at least 1"),
            (self.batch < 2, "batch must be at least 2 (BatchNorm needs two samples)"),
            (self.lr <= 0, "lr must be positive"),
            (self.schedule not in SCHEDULES, f"schedule must be one of {list(SCHEDULES)}"),
            (self.image_size != 0 and self.image_size < 16, "image_size must be 0 (standard) or at least 16"),
            (not 0 <= self.holdout < 0.5, "holdout must lie in [0, 0.5)"),
        ]
        for bad, message in problems:
            if bad:
                raise ValueError(message)


def learning_rate(config: PretrainConfig, progress: float) -> float:
    """The rate at ``progress`` in [0, 1) of training: cosine to 0, or x0.1 at 50% and 75%."""
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * progress))
    return config.lr * 0.1 ** ((progress >= 0.5) + (progress >= 0.75))


def augment(images: torch.Tensor, gen: torch.Generator, pad: int, flip: bool) -> torch.Tensor:
    """Random ``pad``-pixel-shifted crops (zero fill) and optional horizontal flips of a uint8 batch."""
    b, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b, 1), generator=gen).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (b, 1), generator=gen).to(images.device)
    rows = (dy + torch.arange(h, device=images.device))[:, None, :, None]
    cols = (dx + torch.arange(w, device=images.device))[:, None, None, :]
    out = padded[torch.arange(b, device=images.device)[:, None, None, None], torch.arange(c, device=images.device)[None, :, None, None], rows, cols]
    if flip:
        mirror = (torch.rand(b, generator=gen) < 0.5).to(images.device)[:, None, None, None]
        out = torch.where(mirror, out.flip(-1), out)
    return out


def standardize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` to floats with the checkpoint's per-channel statistics."""
    shape = (1, -1, 1, 1)
    mean = torch.as_tensor(mean, dtype=torch.float32, device=images.device).view(shape)
    std = torch.as_tensor(std, dtype=torch.float32, device=images.device).view(shape)
    return (images.float() / 255.0 - mean) / std


def holdout_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices for training and for the held-out images (``ceil(fraction * count)`` per class)."""
    rng = np.random.default_rng([seed, 0x484F])
    train, held = [], []
    for cls in np.unique(labels):
        pool = rng.permutation(np.flatnonzero(labels == cls))
        k = math.ceil(fraction * len(pool)) if fraction > 0 else 0
        held.append(pool[:k])
        train.append(pool[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


@torch.no_grad()
def embed(backbone: nn.Module, images: torch.Tensor, mean, std, batch: int = 512) -> torch.Tensor:
    """Pooled features of uint8 images, in eval mode and batches."""
    backbone.eval()
    return torch.cat([backbone(standardize(images[s : s + batch], mean, std)) for s in range(0, len(images), batch)])


class CheckpointMismatch(Exception):
    """The checkpoint exists but belongs to other settings."""


def _restore(out: Path, config: PretrainConfig) -> dict | None:
    if not out.exists():
        return None
    state = checkpoint.load(out)
    if state.get("config") != asdict(config):
        theirs = state.get("config") or {}
        diff = [f"{k}: {theirs.get(k)!r} there, {v!r} now" for k, v in asdict(config).items() if theirs.get(k) != v]
        raise CheckpointMismatch(f"{out} holds a checkpoint with other settings ({'; '.join(diff)}); use another --out, or --force to start over")
    return state


@dataclass
class BaseImages:
    """The base split on the training device, its held-out part and its pixel statistics."""

    images: torch.Tensor
    labels: torch.Tensor
    train: torch.Tensor  # indices
    held: torch.Tensor
    mean: list
    std: list
    classes: tuple


def base_images(config: PretrainConfig, device, download: bool) -> BaseImages:
    data = load_split(config.dataset, "base", config.image_size, download)
    train, held = holdout_split(data.labels, config.holdout, config.seed)
    pixels = data.images[train].astype(np.float64) / 255.0
    mean, std = pixels.mean(axis=(0, 2, 3)).tolist(), pixels.std(axis=(0, 2, 3)).tolist()
    return BaseImages(torch.from_numpy(data.images).to(device), torch.from_numpy(data.labels).to(device),
                      torch.from_numpy(train).to(device), torch.from_numpy(held).to(device), mean, std, data.classes)


def train_epoch(config, base: BaseImages, backbone, head, opt, epoch: int, on_step=None) -> dict:
    """One pass over the base training images in a (seed, epoch)-determined order."""
    gen = torch.Generator().manual_seed(derive_seed(config.seed, "epoch", epoch))
    order = base.train[torch.randperm(len(base.train), generator=gen).to(base.train.device)]
    per_epoch = max(1, len(order) // config.batch)  # the last partial batch is dropped: BatchNorm needs two samples
    total, pad, flip = per_epoch * config.epochs, max(1, base.images.shape[-1] // 8), source(config.dataset).flip
    backbone.train()
    loss_sum, correct, seen = 0.0, 0, 0
    for step in range(per_epoch):
        done = epoch * per_epoch + step
        for group in opt.param_groups:
            group["lr"] = learning_rate(config, done / total)
        idx = order[step * config.batch : (step + 1) * config.batch]
        logits = head(backbone(standardize(augment(base.images[idx], gen, pad, flip), base.mean, base.std)))
        loss = F.cross_entropy(logits, base.labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        correct += int((logits.argmax(1) == base.labels[idx]).sum())
        seen += len(idx)
        if on_step is not None:
            on_step(done + 1, total, loss_sum / seen, correct / seen)
    return {"epoch": epoch + 1, "loss": loss_sum / seen, "train_acc": correct / seen}


@torch.no_grad()
def holdout_accuracy(base: BaseImages, backbone, head) -> float | None:
    if len(base.held) == 0:
        return None
    logits = head(embed(backbone, base.images[base.held], base.mean, base.std))
    return float((logits.argmax(1) == base.labels[base.held]).float().mean())


def pretrain(config: PretrainConfig, out, device="cpu", download=False, force=False, on_step=None, on_epoch=None) -> dict:
    """Train (or resume) and return the final checkpoint's metadata.

    ``on_step(step, total, loss, acc)`` and ``on_epoch(epoch, record)`` report progress.
    """
    config.check()
    out, device = Path(out), torch.device(device)
    state = None if force else _restore(out, config)
    if state is not None and state["meta"]["complete"]:
        return state["meta"]
    base = base_images(config, device, download)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(config.seed, "init"))
        backbone = ResNet12(source(config.dataset).channels, config.width)
        head = nn.Linear(backbone.feature_dim, len(base.classes))
    backbone.to(device), head.to(device)
    opt = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=config.lr, momentum=config.momentum,
                          nesterov=True, weight_decay=config.weight_decay)
    history = []
    if state is not None:
        backbone.load_state_dict(state["backbone"])
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["optimizer"])
        history = list(state["history"])
    meta = {
        "dataset": config.dataset, "split": "base", "width": config.width, "in_channels": source(config.dataset).channels,
        "image_size": int(base.images.shape[-1]), "mean": base.mean, "std": base.std, "classes": list(base.classes),
        "epochs": config.epochs, "zoo_version": __version__,
    }
    for epoch in range(len(history), config.epochs):
        began = time.perf_counter()
        record = train_epoch(config, base, backbone, head, opt, epoch, on_step)
        record.update(holdout_acc=holdout_accuracy(base, backbone, head), seconds=time.perf_counter() - began)
        history.append(record)
        complete = epoch + 1 == config.epochs
        meta.update(epochs_done=epoch + 1, complete=complete, train_acc=record["train_acc"], holdout_acc=record["holdout_acc"])
        if complete:  # the base-class mean feature, for centering episode features
            meta["feature_mean"] = embed(backbone, base.images[base.train], base.mean, base.std).mean(0).tolist()
        checkpoint.save(out, {
            "meta": meta, "config": asdict(config), "history": history,
            "backbone": {k: v.cpu() for k, v in backbone.state_dict().items()},
            "head": {k: v.cpu() for k, v in head.state_dict().items()},
            "optimizer": None if complete else opt.state_dict(),
        })
        if on_epoch is not None:
            on_epoch(epoch + 1, record)
    return meta
