"""ResNet-12 (or its top blocks) with a linear head, as a population model.

``blocks = 4`` is the whole backbone on images; ``blocks = K < 4`` is its last
K residual blocks, taking the feature maps the ``fewshot`` task gives with
``features = "block{4-K}"``: that is how the top of a pre-trained backbone is
fine-tuned. With ``checkpoint``, width and BatchNorm statistics come from that
backbone and ``init_default`` starts every model from its pre-trained blocks
(the head from PyTorch's default init); optimizers that draw uniformly
(Guess & Check, ``init = "uniform"``) still draw every parameter.

The module runs through :class:`~zoo.module_population.ModulePopulation`
(``vmap`` over ``functional_call``), in eval mode: BatchNorm uses fixed
statistics (the checkpoint's, else 0 and 1, a per-channel affine map), so a
model's output for one input never depends on the other inputs. The
normalized-loss scale is the head's ||W||_F, as for the linear model.
"""

from __future__ import annotations

from torch import nn

from zoo.fewshot.backbone import CHANNELS, ResNet12, block_channels
from zoo.fewshot.checkpoint import read
from zoo.hookspecs import hookimpl
from zoo.module_population import module_model
from zoo.population import frobenius


class BackboneWithHead(nn.Module):
    def __init__(self, backbone: ResNet12, num_classes: int):
        super().__init__()
        self.backbone, self.head = backbone, nn.Linear(backbone.feature_dim, num_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def resnet12(input_shape, num_classes, width=1.0, blocks=4, checkpoint=""):
    """ResNet-12 (or its last ``blocks`` blocks) with a linear head; ``checkpoint`` starts from a pre-trained backbone."""
    if not 1 <= blocks <= len(CHANNELS):
        raise ValueError(f"blocks must be 1..{len(CHANNELS)}, got {blocks}")
    if len(input_shape) != 3:
        raise ValueError(f"resnet12 needs [C, H, W] inputs, got shape {tuple(input_shape)}; fit pooled features with model 'linear'")
    first = len(CHANNELS) - blocks
    state = read(checkpoint) if checkpoint else None
    if state is not None:
        width = state["meta"]["width"]
    expected = block_channels(width)[first - 1] if first else input_shape[0]
    if input_shape[0] != expected:
        raise ValueError(f"the last {blocks} block(s) of a width-{width} ResNet-12 take {expected} channels, got {input_shape[0]}; "
                         f"give the task features = \"block{first}\" of the same checkpoint")
    net = BackboneWithHead(ResNet12(input_shape[0], width, first_block=first), num_classes)
    if state is not None:
        wanted = net.backbone.state_dict()
        net.backbone.load_state_dict({k: v for k, v in state["backbone"].items() if k in wanted})
    return net


@hookimpl
def zoo_models():
    return [module_model("resnet12", resnet12, norm=lambda views: frobenius(views["head.weight"]), params={
        "width": "multiplies every block's channels (a checkpoint's own width wins)",
        "blocks": "how many of the last residual blocks to train under the linear head (1..4)",
        "checkpoint": "a backbone written by zoo pretrain to start the blocks from; empty: random",
    })]
