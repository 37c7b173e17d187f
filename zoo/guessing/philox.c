/* The Philox parameter stream (zoo/guessing/philox.py holds its definition and a torch version).

   Parameter j of guess i is word j % 4 of Philox4x32-10 applied to the counter (j / 4, i mod 2^32,
   i div 2^32, 0) under the stream's 64-bit key; its top 24 bits, as a signed integer, times step. */
#include "philox.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#define BATCH 256 /* counters per block: the words of a block stay in L1 */

/* Philox4x32-10 of counters (q0 + j, lo, hi, 0), j < n, into four words each: one counter at a time. */
static void philox_block_portable(uint32_t *w, uint32_t q0, int n, uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
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

#if defined(__AVX512F__)
/* High and low 32 bits of the sixteen products a[i] * m (m broadcast). */
static inline void mulhilo16(__m512i a, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(a, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

/* The same words as philox_block_portable, sixteen counters at a time in AVX-512 lanes. */
static void philox_block_avx512(uint32_t *w, uint32_t q0, int n, uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
    const __m512i m0 = _mm512_set1_epi32((int)0xD2511F53u), m1 = _mm512_set1_epi32((int)0xCD9E8D57u);
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512i a = _mm512_add_epi32(_mm512_set1_epi32((int)(q0 + (uint32_t)j)), lanes);
        __m512i b = _mm512_set1_epi32((int)lo), c = _mm512_set1_epi32((int)hi), d = _mm512_setzero_si512();
        for (uint32_t r = 0; r < 10; r++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo16(a, m0, &hi0, &lo0);
            mulhilo16(c, m1, &hi1, &lo1);
            a = _mm512_xor_si512(_mm512_xor_si512(hi1, b), _mm512_set1_epi32((int)(k0 + r * 0x9E3779B9u)));
            c = _mm512_xor_si512(_mm512_xor_si512(hi0, d), _mm512_set1_epi32((int)(k1 + r * 0xBB67AE85u)));
            b = lo1;
            d = lo0;
        }
        /* Within each 128-bit lane L: q_k holds the four words of counter 4L + k; then a 4x4 transpose of lanes. */
        __m512i ab_lo = _mm512_unpacklo_epi32(a, b), ab_hi = _mm512_unpackhi_epi32(a, b);
        __m512i cd_lo = _mm512_unpacklo_epi32(c, d), cd_hi = _mm512_unpackhi_epi32(c, d);
        __m512i q0v = _mm512_unpacklo_epi64(ab_lo, cd_lo), q1v = _mm512_unpackhi_epi64(ab_lo, cd_lo);
        __m512i q2v = _mm512_unpacklo_epi64(ab_hi, cd_hi), q3v = _mm512_unpackhi_epi64(ab_hi, cd_hi);
        __m512i t0 = _mm512_shuffle_i64x2(q0v, q1v, 0x44), t1 = _mm512_shuffle_i64x2(q2v, q3v, 0x44);
        __m512i t2 = _mm512_shuffle_i64x2(q0v, q1v, 0xEE), t3 = _mm512_shuffle_i64x2(q2v, q3v, 0xEE);
        uint32_t *out = w + 4 * j;
        _mm512_storeu_si512(out, _mm512_shuffle_i64x2(t0, t1, 0x88));
        _mm512_storeu_si512(out + 16, _mm512_shuffle_i64x2(t0, t1, 0xDD));
        _mm512_storeu_si512(out + 32, _mm512_shuffle_i64x2(t2, t3, 0x88));
        _mm512_storeu_si512(out + 48, _mm512_shuffle_i64x2(t2, t3, 0xDD));
    }
    if (j < n) philox_block_portable(w + 4 * j, q0 + (uint32_t)j, n - j, lo, hi, k0, k1);
}
#define PHILOX_BLOCK philox_block_avx512
#elif defined(__AVX2__)
/* High and low 32 bits of the eight products a[i] * m (m broadcast). */
static inline void mulhilo8(__m256i a, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* The same words as philox_block_portable, eight counters at a time in AVX2 lanes. */
static void philox_block_avx2(uint32_t *w, uint32_t q0, int n, uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i a = _mm256_add_epi32(_mm256_set1_epi32((int)(q0 + (uint32_t)j)), lanes);
        __m256i b = _mm256_set1_epi32((int)lo), c = _mm256_set1_epi32((int)hi), d = _mm256_setzero_si256();
        for (uint32_t r = 0; r < 10; r++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo8(a, m0, &hi0, &lo0);
            mulhilo8(c, m1, &hi1, &lo1);
            a = _mm256_xor_si256(_mm256_xor_si256(hi1, b), _mm256_set1_epi32((int)(k0 + r * 0x9E3779B9u)));
            c = _mm256_xor_si256(_mm256_xor_si256(hi0, d), _mm256_set1_epi32((int)(k1 + r * 0xBB67AE85u)));
            b = lo1;
            d = lo0;
        }
        /* Transpose the lanes (a, b, c, d of eight counters) into the words of counters j .. j + 7 in order. */
        __m256i ab_lo = _mm256_unpacklo_epi32(a, b), ab_hi = _mm256_unpackhi_epi32(a, b);
        __m256i cd_lo = _mm256_unpacklo_epi32(c, d), cd_hi = _mm256_unpackhi_epi32(c, d);
        __m256i q0v = _mm256_unpacklo_epi64(ab_lo, cd_lo), q1v = _mm256_unpackhi_epi64(ab_lo, cd_lo);
        __m256i q2v = _mm256_unpacklo_epi64(ab_hi, cd_hi), q3v = _mm256_unpackhi_epi64(ab_hi, cd_hi);
        __m256i *out = (__m256i *)(w + 4 * j);
        _mm256_storeu_si256(out, _mm256_permute2x128_si256(q0v, q1v, 0x20));
        _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(q2v, q3v, 0x20));
        _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(q0v, q1v, 0x31));
        _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(q2v, q3v, 0x31));
    }
    if (j < n) philox_block_portable(w + 4 * j, q0 + (uint32_t)j, n - j, lo, hi, k0, k1);
}
#define PHILOX_BLOCK philox_block_avx2
#else
#define PHILOX_BLOCK philox_block_portable
#endif

typedef void (*philox_block_fn)(uint32_t *, uint32_t, int, uint32_t, uint32_t, uint32_t, uint32_t);

static void philox_row(philox_block_fn block, float *row, int64_t width, uint64_t guess, uint64_t key, float step) {
    uint32_t w[4 * BATCH];
    int64_t quads = (width + 3) / 4;
    for (int64_t q0 = 0; q0 < quads; q0 += BATCH) {
        int n = quads - q0 < BATCH ? (int)(quads - q0) : BATCH;
        block(w, (uint32_t)q0, n, (uint32_t)guess, (uint32_t)(guess >> 32), (uint32_t)key, (uint32_t)(key >> 32));
        int64_t m = width - 4 * q0 < 4 * n ? width - 4 * q0 : 4 * n;
        for (int64_t t = 0; t < m; t++) row[4 * q0 + t] = (float)((int32_t)w[t] >> 8) * step;
    }
}

void zoo_philox_row(float *row, int64_t width, uint64_t guess, uint64_t key, float step) {
    philox_row(PHILOX_BLOCK, row, width, guess, key, step);
}

void zoo_philox_fill(float *out, int64_t rows, int64_t width, uint64_t first, uint64_t key, float step) {
    for (int64_t r = 0; r < rows; r++) zoo_philox_row(out + r * width, width, first + (uint64_t)r, key, step);
}

void zoo_philox_fill_portable(float *out, int64_t rows, int64_t width, uint64_t first, uint64_t key, float step) {
    for (int64_t r = 0; r < rows; r++) philox_row(philox_block_portable, out + r * width, width, first + (uint64_t)r, key, step);
}
