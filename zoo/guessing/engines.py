"""The two Guess & Check engines by name, and their default chunk size and thread count.

``"reference"`` judges every guess on all n samples (the reference
implementation's design); ``"fast"`` rejects a guess at its first clear
misclassification, for the models it has a probe for. Both accept the same
guesses.
"""

from __future__ import annotations

import torch

from zoo.guessing.early import EarlyRejectionJudge
from zoo.guessing.probes import has_probe
from zoo.guessing.reference import ReferenceJudge

ENGINES = ("fast", "reference")
REFERENCE_CHUNK = 1024  # guesses per chunk of the reference engine
FAST_CHUNK_FLOATS = 1 << 22  # parameters per chunk of the fast engine (16 MiB): Python's share per guess stays small


def make_judge(engine: str, model, x: torch.Tensor, y: torch.Tensor, loss_bin):
    if engine == "reference" or not has_probe(model):
        return ReferenceJudge(model, x, y, loss_bin)
    return EarlyRejectionJudge(model, x, y, loss_bin)


def default_chunk(engine: str, num_params: int) -> int:
    return REFERENCE_CHUNK if engine == "reference" else max(1, FAST_CHUNK_FLOATS // num_params)


def default_workers(device) -> int:
    """One search thread per torch thread on the CPU; one on a GPU, which runs its ops in parallel itself."""
    return 1 if torch.device(device).type != "cpu" else torch.get_num_threads()
