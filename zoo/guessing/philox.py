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

Two implementations give the same numbers: a small C kernel, compiled on
first use with the system's C compiler into the cache folder (about 0.7 ns per
parameter per thread; ctypes releases the GIL while it runs), and torch
integer operations (any device: CUDA, or a CPU without a compiler).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import subprocess
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import torch

from zoo.data import cache_dir

MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
WEYL = (0x9E3779B9, 0xBB67AE85)  # key increments between rounds
ROUNDS = 10
BITS = 24
MASK = 0xFFFFFFFF

SOURCE = r"""
#include <stdint.h>
#define BATCH 256
/* Philox4x32-10 of counters (q0 + j, lo, hi, 0), j < n, into four words each. */
static void block(uint32_t *w, uint32_t q0, int n, uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
    uint32_t K0[10], K1[10];
    for (int r = 0; r < 10; r++) { K0[r] = k0 + r * 0x9E3779B9u; K1[r] = k1 + r * 0xBB67AE85u; }
    for (int j = 0; j < n; j++) {
        uint32_t a = q0 + j, b = lo, c = hi, d = 0;
        #pragma GCC unroll 10
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * a, p1 = (uint64_t)0xCD9E8D57u * c;
            a = (uint32_t)(p1 >> 32) ^ b ^ K0[r];
            c = (uint32_t)(p0 >> 32) ^ d ^ K1[r];
            b = (uint32_t)p1;
            d = (uint32_t)p0;
        }
        w[4 * j] = a; w[4 * j + 1] = b; w[4 * j + 2] = c; w[4 * j + 3] = d;
    }
}
/* Rows of `width` parameters for guesses first .. first + rows - 1. */
void zoo_philox_fill(float *out, int64_t rows, int64_t width, uint64_t first, uint64_t key, float step) {
    uint32_t w[4 * BATCH];
    int64_t quads = (width + 3) / 4;
    for (int64_t r = 0; r < rows; r++) {
        uint64_t guess = first + r;
        float *row = out + r * width;
        for (int64_t q0 = 0; q0 < quads; q0 += BATCH) {
            int n = quads - q0 < BATCH ? (int)(quads - q0) : BATCH;
            block(w, (uint32_t)q0, n, (uint32_t)guess, (uint32_t)(guess >> 32), (uint32_t)key, (uint32_t)(key >> 32));
            int64_t m = width - 4 * q0 < 4 * n ? width - 4 * q0 : 4 * n;
            for (int64_t t = 0; t < m; t++) row[4 * q0 + t] = (float)((int32_t)w[t] >> 8) * step;
        }
    }
}
"""


def _cpu_identity() -> str:
    """What -march=native compiles for: the machine and its CPU flags."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return platform.machine() + flags


@lru_cache(maxsize=1)
def compiled_kernel():
    """The C kernel, compiled once per machine into the cache folder; None without a working C compiler."""
    tag = hashlib.sha256((SOURCE + _cpu_identity()).encode()).hexdigest()[:16]
    library = cache_dir() / f"philox-{tag}.so"
    if not library.exists():
        with tempfile.TemporaryDirectory() as tmp:
            source, built = Path(tmp) / "philox.c", Path(tmp) / "philox.so"
            source.write_text(SOURCE)
            command = [os.environ.get("CC", "cc"), "-O3", "-march=native", "-shared", "-fPIC", "-o", str(built), str(source)]
            try:
                subprocess.run(command, check=True, capture_output=True, timeout=120)
            except (OSError, subprocess.SubprocessError) as error:
                warnings.warn(f"Guess & Check: could not compile the Philox kernel ({error}); drawing with torch operations "
                              "instead, the same numbers about 50 times slower. Install a C compiler (or set CC), or use "
                              "generator = \"torch\" for speed.", RuntimeWarning, stacklevel=3)
                return None
            os.replace(built, library)  # atomic: a concurrent build never leaves half a library
    fill = ctypes.CDLL(str(library)).zoo_philox_fill
    fill.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_float]
    fill.restype = None
    return fill


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
    return out.copy_(signed).mul_(2 * radius / (1 << BITS))


def fill(out: torch.Tensor, first: int, key: int, radius: float) -> torch.Tensor:
    """Guesses ``first ..`` into the rows of a contiguous float32 ``out``: the C kernel on the CPU when available."""
    kernel = compiled_kernel() if out.device.type == "cpu" else None
    if kernel is None:
        return fill_torch(out, first, key, radius)
    rows, width = out.shape
    kernel(out.data_ptr(), rows, width, first, key, 2 * radius / (1 << BITS))
    return out
