"""The parameter stream: guess i's parameters depend on the cell seed and i alone.

Guesses come in fixed blocks of :func:`block_guesses` guesses. Block b is drawn
by its own generator, seeded with ``derive_seed(seed, "guesses", b)``, so a
guess does not depend on how many guesses are judged together, on the number
of threads, or on which thread draws it, and two threads can draw two blocks
at the same time. The block size depends only on the number of parameters.

Every parameter is i.i.d. uniform on the 2^24 points -r + 2r k / 2^24,
k = 0 .. 2^24 - 1, the grid of torch's ``uniform_`` for float32 (24 random
bits each). Two generators give those bits:

- ``"pcg64"`` (default on the CPU): numpy's default bit generator, PCG64; each
  64-bit output gives two parameters (the high 24 bits of each half, as a
  signed integer j, times 2r / 2^24). Twice as fast as torch's CPU generator,
  and numpy releases the GIL while it runs, so threads draw in parallel. Same
  distribution; a different (equally reproducible) sequence.
- ``"torch"`` (default on a GPU): torch's own generator on the stream's device
  (MT19937 on the CPU, Philox on CUDA) through ``uniform_``.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.optimizer import derive_seed

BLOCK_FLOATS = 1 << 19  # 2 MiB of float32 per block
GENERATORS = ("auto", "pcg64", "torch")
BITS = 24  # random bits per parameter, as torch.rand for float32


def block_guesses(num_params: int) -> int:
    """Guesses per block: the largest power of two whose parameters fit in BLOCK_FLOATS (at least 1)."""
    fit = max(1, BLOCK_FLOATS // num_params)
    return 1 << (fit.bit_length() - 1)


class ParameterStream:
    """An endless sequence of guesses ``theta[i]``, each a row of ``num_params`` floats."""

    def __init__(self, num_params: int, radius: float, seed: int, device="cpu", generator: str = "auto"):
        if generator not in GENERATORS:
            raise ValueError(f"generator must be one of {list(GENERATORS)}, got {generator!r}")
        self.num_params, self.radius, self.seed = num_params, radius, seed
        self.device = torch.device(device)
        if generator == "auto":
            generator = "pcg64" if self.device.type == "cpu" else "torch"
        self.generator = generator
        self.block = block_guesses(num_params)

    def fill(self, out: torch.Tensor, first: int) -> torch.Tensor:
        """Write guesses ``first, first + 1, ...`` into the rows of ``out`` (whole blocks only)."""
        if first % self.block or len(out) % self.block:
            raise ValueError(f"the stream is drawn in whole blocks of {self.block} guesses")
        draw = self._torch_block if self.generator == "torch" else self._pcg64_block
        for row in range(0, len(out), self.block):
            draw(out[row : row + self.block], derive_seed(self.seed, "guesses", (first + row) // self.block))
        return out

    def _torch_block(self, rows: torch.Tensor, seed: int) -> None:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed)
        rows.uniform_(-self.radius, self.radius, generator=gen)

    def _pcg64_block(self, rows: torch.Tensor, seed: int) -> None:
        count = rows.numel()
        words = torch.from_numpy(np.random.PCG64(seed).random_raw(-(-count // 2)).view(np.int32)[:count])
        signed = words.bitwise_right_shift_(32 - BITS)  # uniform on -2^23 .. 2^23 - 1
        rows.view(-1).copy_(signed).mul_(2 * self.radius / (1 << BITS))

    def take(self, first: int, count: int) -> torch.Tensor:
        """Guesses ``first .. first + count - 1`` as a new ``[count, num_params]`` tensor."""
        start = first - first % self.block
        rows = -(-(first + count - start) // self.block) * self.block
        out = self.fill(torch.empty(rows, self.num_params, device=self.device), start)
        return out[first - start : first - start + count]
