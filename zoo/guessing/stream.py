"""The parameter stream: guess i's parameters depend on the cell seed and i alone.

Every parameter is i.i.d. uniform on the 2^24 points -r + 2r k / 2^24,
k = 0 .. 2^24 - 1: the grid of torch's ``uniform_`` for float32, 24 random
bits each. Two generators give those bits:

- ``"philox"`` (default): Philox4x32-10 keyed by ``derive_seed(seed,
  "guesses")``, with guess i and parameter j in the counter
  (:mod:`zoo.guessing.philox`). Any guess is computed on its own, so chunks
  and threads never matter; the same numbers on the CPU and on CUDA.
- ``"torch"``: torch's own generator on the stream's device (MT19937 on the
  CPU, Philox with its own counters on CUDA) through ``uniform_``, the way the
  reference implementation draws. Guesses come in fixed blocks of
  :func:`block_guesses`; block b is drawn by a generator seeded with
  ``derive_seed(seed, "guesses", b)``, so a guess does not depend on how many
  are drawn together either. The block size depends on the number of
  parameters only.

Both are exact draws from the same distribution; they are different,
equally reproducible sequences.
"""

from __future__ import annotations

import torch

from zoo.guessing import philox
from zoo.optimizer import derive_seed

GENERATORS = ("philox", "torch")
BLOCK_FLOATS = 1 << 19  # parameters per block of the "torch" generator (2 MiB of float32)


def block_guesses(num_params: int) -> int:
    """Guesses per block of the "torch" generator: the largest power of two that fits in BLOCK_FLOATS (at least 1)."""
    fit = max(1, BLOCK_FLOATS // num_params)
    return 1 << (fit.bit_length() - 1)


class ParameterStream:
    """An endless sequence of guesses ``theta[i]``, each a row of ``num_params`` floats."""

    def __init__(self, num_params: int, radius: float, seed: int, device="cpu", generator: str = "philox"):
        if generator not in GENERATORS:
            raise ValueError(f"generator must be one of {list(GENERATORS)}, got {generator!r}")
        self.num_params, self.radius, self.seed, self.generator = num_params, radius, seed, generator
        self.device = torch.device(device)
        self.block = 1 if generator == "philox" else block_guesses(num_params)
        self.key = derive_seed(seed, "guesses")  # the Philox key

    def fill(self, out: torch.Tensor, first: int) -> torch.Tensor:
        """Write guesses ``first, first + 1, ...`` into the rows of ``out`` (whole blocks only)."""
        if first % self.block or len(out) % self.block:
            raise ValueError(f"the stream is drawn in whole blocks of {self.block} guesses")
        if self.generator == "philox":
            return philox.fill(out, first, self.key, self.radius)
        gen = torch.Generator(device=self.device)
        for row in range(0, len(out), self.block):
            gen.manual_seed(derive_seed(self.seed, "guesses", (first + row) // self.block))
            out[row : row + self.block].uniform_(-self.radius, self.radius, generator=gen)
        return out

    def take(self, first: int, count: int) -> torch.Tensor:
        """Guesses ``first .. first + count - 1`` as a new ``[count, num_params]`` tensor."""
        start = first - first % self.block
        rows = -(-(first + count - start) // self.block) * self.block
        out = self.fill(torch.empty(rows, self.num_params, device=self.device), start)
        return out[first - start : first - start + count]
