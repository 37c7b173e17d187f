"""The ``fewshot`` task: N-way K-shot episodes on a frozen pre-trained backbone.

Each cell is one episode: the cell's data seed picks the classes and images
(:mod:`zoo.fewshot.episodes`), the support set is the training set and the
query set the test set. The matrix's ``n`` is, as everywhere in zoo, the
training-set size, here the support-set size ``ways * shots``: with 5 ways,
``n = 5`` is 1-shot and ``n = 25`` is 5-shot. The query set has ``queries``
images per class.

Inputs are what the frozen backbone of ``checkpoint`` makes of the images:

- ``features = "pooled"`` (default): the globally pooled ``640 * width``
  vector; fit it with ``model = "linear"``. ``normalize`` sets what is done
  to it: ``"centered"`` (default) subtracts the mean feature of the base
  training images (stored in the checkpoint) and then scales to unit length,
  ``"l2"`` only scales, ``"none"`` keeps the raw features. Centering matters
  to optimizers that start from random weights: raw features of all classes
  point in similar directions, so a random linear head gives most inputs the
  same class.
- ``features = "blockK"`` (K = 1, 2, 3): the feature maps after block K; fit
  them with ``model = { name = "resnet12", blocks = 4 - K, checkpoint = ... }``
  to fine-tune the remaining blocks with a linear head on top.

``checkpoint`` is the file ``zoo pretrain`` wrote; a relative path is looked
up in the working directory, then under the data root. The dataset must be
the one the backbone was pre-trained on: splits are disjoint only within a
dataset. Cells are identified by their parameters, not by the checkpoint's
contents: after pre-training again, write to a new path (or ``--rerun``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.environment import resolve_device
from zoo.fewshot.backbone import block_channels
from zoo.fewshot.checkpoint import frozen_backbone
from zoo.fewshot.datasets import SPLITS, load_split, source, sources
from zoo.fewshot.episodes import sample_episode
from zoo.fewshot.pretrain import embed, standardize
from zoo.hookspecs import hookimpl
from zoo.registry import Param, PluginSpec
from zoo.task import Problem, Task

FEATURES = ("pooled", "block1", "block2", "block3")
NORMALIZE = ("centered", "l2", "none")
DEVICES = ("auto", "cpu", "cuda")


class FewShot(Task):
    def __init__(self, dataset="omniglot", checkpoint="", ways=5, queries=15, split="novel", features="pooled",
                 normalize="centered", device="auto", download=False):
        source(dataset)
        if split not in SPLITS or features not in FEATURES or normalize not in NORMALIZE:
            raise ValueError(f"split must be one of {list(SPLITS)}, features one of {list(FEATURES)}, normalize one of {list(NORMALIZE)}")
        if ways < 2 or queries < 1:
            raise ValueError(f"needs ways >= 2 and queries >= 1, got ways={ways}, queries={queries}")
        if not checkpoint:
            raise ValueError("fewshot needs checkpoint = \"PATH\", a backbone written by `zoo pretrain`")
        self.device = resolve_device(device)
        try:  # a missing checkpoint surfaces when the manifest is checked, not in every cell
            self.backbone, self.meta = frozen_backbone(checkpoint, self.device)
        except FileNotFoundError as error:
            raise ValueError(str(error)) from None
        if self.meta["dataset"] != dataset:
            raise ValueError(f"checkpoint {checkpoint} was pre-trained on {self.meta['dataset']!r}, not {dataset!r}; "
                             "pre-train on the task's dataset so that its novel classes stay unseen")
        self.dataset, self.ways, self.queries, self.split = dataset, ways, queries, split
        self.features, self.normalize, self.download = features, normalize, download
        self.num_classes = ways
        self.input_shape = self._input_shape()

    def _input_shape(self) -> tuple[int, ...]:
        channels = block_channels(self.meta["width"])
        if self.features == "pooled":
            return (channels[-1],)
        k, side = int(self.features[-1]), self.meta["image_size"]
        for _ in range(k):
            side //= 2
        return (channels[k - 1], side, side)

    @torch.no_grad()
    def inputs(self, images) -> torch.Tensor:
        """What the optimizers see of a uint8 image batch, on the CPU."""
        x = torch.from_numpy(images).to(self.device)
        mean, std = self.meta["mean"], self.meta["std"]
        if self.features != "pooled":
            return self.backbone.maps(standardize(x, mean, std), int(self.features[-1])).cpu()
        out = embed(self.backbone, x, mean, std)
        if self.normalize == "centered":
            out = out - torch.tensor(self.meta["feature_mean"], device=out.device)
        return (out if self.normalize == "none" else F.normalize(out, dim=1)).cpu()

    def sample(self, n: int, seed: int) -> Problem:
        if n % self.ways:
            raise ValueError(f"n = {n} is not a multiple of ways = {self.ways}: n is the support-set size, ways x shots")
        data = load_split(self.dataset, self.split, self.meta["image_size"], self.download)
        episode = sample_episode(data.labels, self.ways, n // self.ways, self.queries, seed)
        return Problem(
            x_train=self.inputs(data.images[episode.support]),
            y_train=torch.from_numpy(episode.support_labels),
            x_test=self.inputs(data.images[episode.query]),
            y_test=torch.from_numpy(episode.query_labels),
            num_classes=self.ways,
            classes=tuple(data.classes[c] for c in episode.classes),
        )


@hookimpl
def zoo_tasks():
    return [
        PluginSpec(
            "fewshot",
            FewShot,
            {
                "dataset": Param("omniglot", "the image dataset; the backbone must be pre-trained on it",
                                 choices=tuple(sorted(sources()))),
                "checkpoint": Param("", "the backbone file zoo pretrain wrote (relative: working directory, then data root)"),
                "ways": Param(5, "classes per episode"),
                "queries": Param(15, "query (test) images per class"),
                "split": Param("novel", "the classes episodes are drawn from", choices=SPLITS),
                "features": Param("pooled", "pooled: the pooled feature vector (fit with linear); blockK: the maps after "
                                  "block K (fit with resnet12)", choices=FEATURES),
                "normalize": Param("centered", "pooled features: centered on the base mean and scaled to unit length, "
                                   "only scaled (l2), or raw", choices=NORMALIZE),
                "device": Param("auto", "where the frozen backbone embeds the images", choices=DEVICES),
                "download": Param(False, "fetch the dataset when it is missing (where the dataset allows)"),
            },
            "N-way few-shot episodes on a frozen pre-trained ResNet-12 (n = support-set size, ways x shots)",
        )
    ]
