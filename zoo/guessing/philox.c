/* The Philox parameter stream (zoo/guessing/philox.py holds its definition and a torch version).

   Parameter j of guess i is word j % 4 of Philox4x32-10 applied to the counter (j / 4, i mod 2^32,
   i div 2^32, 0) under the stream's 64-bit key; its top 24 bits, as a signed integer, times step. */
#include "philox.h"

#define BATCH 256 /* counters per block: the words of a block stay in L1 */

/* Philox4x32-10 of counters (q0 + j, lo, hi, 0), j < n, into four words each. */
static void philox_block(uint32_t *w, uint32_t q0, int n, uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
    uint32_t K0[10], K1[10];
    for (uint32_t r = 0; r < 10; r++) {
        K0[r] = k0 + r * 0x9E3779B9u;
        K1[r] = k1 + r * 0xBB67AE85u;
    }
    for (int j = 0; j < n; j++) {
        uint32_t a = q0 + (uint32_t)j, b = lo, c = hi, d = 0;
#pragma GCC unroll 10
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * a, p1 = (uint64_t)0xCD9E8D57u * c;
            a = (uint32_t)(p1 >> 32) ^ b ^ K0[r];
            c = (uint32_t)(p0 >> 32) ^ d ^ K1[r];
            b = (uint32_t)p1;
            d = (uint32_t)p0;
        }
        w[4 * j] = a;
        w[4 * j + 1] = b;
        w[4 * j + 2] = c;
        w[4 * j + 3] = d;
    }
}

void zoo_philox_row(float *row, int64_t width, uint64_t guess, uint64_t key, float step) {
    uint32_t w[4 * BATCH];
    int64_t quads = (width + 3) / 4;
    for (int64_t q0 = 0; q0 < quads; q0 += BATCH) {
        int n = quads - q0 < BATCH ? (int)(quads - q0) : BATCH;
        philox_block(w, (uint32_t)q0, n, (uint32_t)guess, (uint32_t)(guess >> 32), (uint32_t)key, (uint32_t)(key >> 32));
        int64_t m = width - 4 * q0 < 4 * n ? width - 4 * q0 : 4 * n;
        for (int64_t t = 0; t < m; t++) row[4 * q0 + t] = (float)((int32_t)w[t] >> 8) * step;
    }
}

void zoo_philox_fill(float *out, int64_t rows, int64_t width, uint64_t first, uint64_t key, float step) {
    for (int64_t r = 0; r < rows; r++) zoo_philox_row(out + r * width, width, first + (uint64_t)r, key, step);
}
