"""A complete zoo model plugin: a plain ``torch.nn.Module`` benchmarked as a population.

``TorchLeNet`` is the built-in ``lenet`` written the ordinary PyTorch way,
one model per forward call; :func:`zoo.api.module_model`
turns it into a population model. Same layout, same logits, same
normalized loss as ``lenet``, so the two can be compared for speed.
"""

import torch
from torch import nn

from zoo.api import frobenius, hookimpl, module_model


class TorchLeNet(nn.Module):
    """LeNet-5 as a plain torch module, for comparison with the built-in lenet"""

    def __init__(self, input_shape, num_classes, width=1.0):
        super().__init__()
        channels, height, _ = input_shape
        c1, c2, f1, f2 = int(6 * width), int(16 * width), int(120 * width), int(84 * width)
        side = ((height - 4) // 2 - 4) // 2
        self.conv1, self.conv2 = nn.Conv2d(channels, c1, 5), nn.Conv2d(c1, c2, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(c2 * side * side, f1), nn.Linear(f1, f2), nn.Linear(f2, num_classes)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(x)))


def lenet_scale(params):
    """The normalized-loss scale of the built-in lenet: the product of ||W||_F / 3 over the weights."""
    scale = 1.0
    for name, view in params.items():
        if name.endswith("weight"):
            scale = scale * frobenius(view) / 3.0
    return scale


@hookimpl
def zoo_models():
    return [module_model("torch_lenet", TorchLeNet, norm=lenet_scale,
                         params={"width": "multiplies every layer's channels and units"})]
