"""Philox4x32-10, the counter-based generator behind the parameter stream.

Philox (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011;
the generator of cuRAND and of torch on CUDA) turns a 128-bit counter and a
64-bit key into four random 32-bit words with ten rounds of multiply-and-xor.
Any word can be computed on its own, so guess i's parameters need no state
from guesses before it, and any chunk of guesses can be drawn in any order.

Parameter j of guess i is word ``j % 4`` of counter ``(j // 4, i mod 2^32,
i div 2^32, 0)``; its top 24 bits, read as a signed integer s in
[-2^23, 2^23), give ``s * 2r / 2^24``: uniform on the 2^24 points of the grid
of torch's ``uniform_``.

Two implementations give the same numbers: a C kernel
(``philox.c``: AVX-512 or AVX2 lanes where the CPU has them, else one counter
at a time; about 0.36 ns per parameter per thread with AVX-512) and torch
integer operations (any device: CUDA, or a CPU without a C compiler).
"""

from __future__ import annotations

import torch

from zoo.guessing import native

MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
WEYL = (0x9E3779B9, 0xBB67AE85)  # key increments between rounds
ROUNDS = 10
BITS = 24
MASK = 0xFFFFFFFF


def step(radius: float) -> float:
    """The grid spacing: 2r / 2^24."""
    return 2 * radius / (1 << BITS)


def _mul_hi_lo(a: torch.Tensor, multiplier: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32 bits of ``multiplier * a`` for 32-bit values in int64, without overflow."""
    upper, lower = multiplier * (a >> 16), multiplier * (a & 0xFFFF)  # each below 2^48
    return (upper + (lower >> 16)) >> 16, (((upper & 0xFFFF) << 16) + lower) & MASK


def philox_words(counters: torch.Tensor, key: int) -> torch.Tensor:
    """Philox4x32-10 of ``counters[..., 4]`` (32-bit values held in int64): ``[..., 4]`` words."""
    a, b, c, d = counters.unbind(-1)
    k0, k1 = key & MASK, (key >> 32) & MASK
    for _ in range(ROUNDS):
        hi0, lo0 = _mul_hi_lo(a, MULTIPLIERS[0])
        hi1, lo1 = _mul_hi_lo(c, MULTIPLIERS[1])
        a, b, c, d = hi1 ^ b ^ k0, lo1, hi0 ^ d ^ k1, lo0
        k0, k1 = (k0 + WEYL[0]) & MASK, (k1 + WEYL[1]) & MASK
    return torch.stack([a, b, c, d], -1)


def fill_torch(out: torch.Tensor, first: int, key: int, radius: float) -> torch.Tensor:
    """Guesses ``first ..`` into the rows of ``out``, with torch operations on ``out``'s device."""
    rows, width = out.shape
    quads = -(-width // 4)
    guess = torch.arange(first, first + rows, device=out.device).view(rows, 1)
    counters = torch.stack(torch.broadcast_tensors(
        torch.arange(quads, device=out.device).view(1, quads), guess & MASK, guess >> 32, torch.zeros_like(guess)), -1)
    words = philox_words(counters, key).view(rows, 4 * quads)[:, :width]
    signed = torch.where(words >= 1 << 31, words - (1 << 32), words) >> (32 - BITS)
    return out.copy_(signed).mul_(step(radius))


def fill(out: torch.Tensor, first: int, key: int, radius: float) -> torch.Tensor:
    """Guesses ``first ..`` into the rows of a contiguous float32 ``out``: the C kernel on the CPU when available."""
    kernel = native.philox_fill() if out.device.type == "cpu" else None
    if kernel is None:
        return fill_torch(out, first, key, radius)
    rows, width = out.shape
    kernel(out.data_ptr(), rows, width, first, key, step(radius))
    return out
