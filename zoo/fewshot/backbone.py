"""ResNet-12, the standard few-shot backbone, with a width multiplier.

Four residual blocks; each is three 3x3 convolutions with BatchNorm (LeakyReLU
0.1 after the first two), a 1x1 convolution + BatchNorm shortcut, LeakyReLU
after the sum and a 2x2 max-pool. Channels are 64-160-320-640 times
``width``. A global average pool at the end makes any input of at least
16x16 pixels give a ``640 * width`` feature vector.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CHANNELS = (64, 160, 320, 640)
SLOPE = 0.1


def block_channels(width: float) -> tuple[int, ...]:
    """The four blocks' channel counts for a width multiplier."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return tuple(max(1, round(c * width)) for c in CHANNELS)


def _conv_bn(c_in: int, c_out: int, size: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, size, padding=size // 2, bias=False), nn.BatchNorm2d(c_out))


class ResidualBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.convs = nn.ModuleList([_conv_bn(c_in, c_out, 3), _conv_bn(c_out, c_out, 3), _conv_bn(c_out, c_out, 3)])
        self.shortcut = _conv_bn(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.convs[0](x), SLOPE)
        h = F.leaky_relu(self.convs[1](h), SLOPE)
        h = F.leaky_relu(self.convs[2](h) + self.shortcut(x), SLOPE)
        return F.max_pool2d(h, 2)


class ResNet12(nn.Module):
    """The backbone, or only its blocks from ``first_block`` on (the fine-tuned top).

    ``in_channels`` is what the first present block receives: image channels
    for the whole network, the previous block's channels for a top part.
    Blocks keep their index in parameter names (``blocks.3.convs.0.0.weight``),
    so a top part loads the matching entries of a whole network's state dict.
    """

    def __init__(self, in_channels: int = 3, width: float = 1.0, first_block: int = 0):
        super().__init__()
        channels = block_channels(width)
        if not 0 <= first_block < len(channels):
            raise ValueError(f"first_block must be 0..{len(channels) - 1}, got {first_block}")
        inputs = (in_channels,) + channels[first_block:-1]
        self.blocks = nn.ModuleDict(
            {str(i): ResidualBlock(c_in, channels[i]) for i, c_in in zip(range(first_block, len(channels)), inputs)}
        )
        self.feature_dim = channels[-1]

    def maps(self, x: torch.Tensor, stop: int = len(CHANNELS)) -> torch.Tensor:
        """Feature maps after the present blocks with index below ``stop``."""
        for index, block in self.blocks.items():
            if int(index) < stop:
                x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 2 ** len(self.blocks):
            raise ValueError(f"ResNet-12 with {len(self.blocks)} blocks needs inputs of at least {2 ** len(self.blocks)} pixels a side, got {tuple(x.shape[-2:])}")
        return self.maps(x).mean((-2, -1))
