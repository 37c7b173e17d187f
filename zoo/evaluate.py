"""The acceptance rule shared by every optimizer: fit and normalized loss.

A model is *accepted* when its train accuracy is exactly 100% and, when the
cell has a loss bin (lo, hi], its normalized train loss lies in that bin. The
normalized loss is the mean cross-entropy of the logits divided by the
model's ``norm_scale``; it makes loss thresholds meaningful for random weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.population import declared

LossBin = tuple[float, float]


def normalized_loss(logits: torch.Tensor, scale: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per model of ``logits[M, N, C] / scale[M]`` against ``y[N]``."""
    m, n, c = logits.shape
    scaled = logits / scale.view(m, 1, 1)
    return F.cross_entropy(scaled.reshape(m * n, c), y.repeat(m), reduction="none").view(m, n).mean(1)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of correct predictions per model, ``[M]``."""
    return (logits.argmax(-1) == y).float().mean(1)


def fit_and_loss(model, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Train accuracy and normalized train loss of every model in the population."""
    logits = model.forward(theta, x)
    return accuracy(logits, y), normalized_loss(logits, model.norm_scale(theta), y)


def accepted(acc: torch.Tensor, loss: torch.Tensor, loss_bin: LossBin | None) -> torch.Tensor:
    """Boolean mask of models that fit every sample and land in the loss bin."""
    ok = acc >= 1.0
    if loss_bin is not None:
        lo, hi = loss_bin
        ok = ok & (loss > lo) & (loss <= hi)
    return ok


def inference_logits(model, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``model.forward``'s logits, up to float32 rounding from the model's compiled kernel when it has one here."""
    compiled = declared(model, "compiled_logits")
    logits = compiled(theta, x) if compiled is not None else None
    return logits if logits is not None else model.forward(theta, x)


@torch.no_grad()
def test_accuracy(model, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, budget: int = 1 << 15) -> torch.Tensor:
    """Accuracy of every model on a (possibly large) test set.

    Models and inputs go in blocks of at most ``budget`` model-input pairs:
    activations grow with their product, and a thousand LeNets on an official
    two-class test set (about 2,000 images) at once would need over 10 GB.
    The logits come from the model's compiled kernel where it has one (LeNet
    on the CPU: 6x torch's forward pass), else from ``forward``.
    """
    m = theta.shape[0]
    inputs = max(1, min(x.shape[0], budget))
    models = max(1, budget // inputs)
    correct = torch.zeros(m, device=theta.device)
    for first in range(0, m, models):
        part = theta[first : first + models]
        for start in range(0, x.shape[0], inputs):
            logits = inference_logits(model, part, x[start : start + inputs])
            correct[first : first + models] += (logits.argmax(-1) == y[start : start + inputs]).float().sum(1)
    return correct / x.shape[0]
