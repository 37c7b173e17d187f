/* The first look at a chunk of LeNet guesses (zoo/guessing/early.py), one guess at a time and one training
   sample at a time, all in the core's cache: draw the guess's row (when the stream is Philox), then per
   sample the forward pass and the margin; stop at the first clear misclassification or close call.

   The shape is fixed at compile time, so that the compiler keeps the accumulators in registers:
   -DCH -DN -DC1 -DC2 -DF1 -DF2 -DNC: input channels and side, conv channels, dense units, classes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "philox.h"
#include "dot.h"

#define H1 ((N - 4) / 2)
#define S2 ((H1 - 4) / 2)
#define FLAT (C2 * S2 * S2)
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define SHIFTED(cin, n) ((cin) * 6 * (n) * (((n) - 4) / 2) + LANES)

/* Column-shifted copies of cin channels of n x n: shift[ci][q][r][j] = in[ci][r][q + 2j], q < 6, j < (n-4)/2;
   then LANES zeros, read (and ignored) by the last block of a convolution. */
static void shifted(const float *restrict in, int cin, int n, float *restrict shift) {
    int h = (n - 4) / 2;
    for (int ci = 0; ci < cin; ci++)
        for (int q = 0; q < 6; q++)
            for (int r = 0; r < n; r++)
                for (int j = 0; j < h; j++) shift[((ci * 6 + q) * n + r) * h + j] = in[(ci * n + r) * n + q + 2 * j];
    memset(shift + cin * 6 * n * h, 0, sizeof(float) * LANES);
}

/* 5x5 valid convolution from shifted copies, 2x2 max-pooling, bias, ReLU: COUT channels of h x h.
   Even and odd output columns are accumulated apart, LANES outputs of every channel at a time in
   registers, so that pooling is an elementwise maximum (bias and ReLU after it: both are monotone). */
#define CONV_POOL(NAME, CIN, NN, COUT)                                                                        \
static void NAME(const float *restrict shift, const float *restrict w, const float *restrict b, float *restrict out) { \
    enum { h = (NN - 4) / 2, len = 2 * h * h, padded = (len + LANES - 1) / LANES * LANES };                   \
    float even[COUT][padded], odd[COUT][padded];                                                              \
    for (int t0 = 0; t0 < padded; t0 += LANES) {                                                              \
        float ae[COUT][LANES] = {{0}}, ao[COUT][LANES] = {{0}};                                               \
        for (int ci = 0; ci < CIN; ci++)                                                                      \
            for (int ky = 0; ky < 5; ky++)                                                                    \
                for (int kx = 0; kx < 5; kx++) {                                                              \
                    const float *restrict e = shift + ((ci * 6 + kx) * NN + ky) * h + t0, *restrict o = e + NN * h; \
                    for (int c = 0; c < COUT; c++) {                                                          \
                        float wv = w[((c * CIN + ci) * 5 + ky) * 5 + kx];                                     \
                        for (int j = 0; j < LANES; j++) { ae[c][j] += wv * e[j]; ao[c][j] += wv * o[j]; }    \
                    }                                                                                         \
                }                                                                                             \
        for (int c = 0; c < COUT; c++) { memcpy(even[c] + t0, ae[c], sizeof ae[c]); memcpy(odd[c] + t0, ao[c], sizeof ao[c]); } \
    }                                                                                                         \
    for (int c = 0; c < COUT; c++)                                                                            \
        for (int y = 0; y < h; y++)                                                                           \
            for (int x = 0; x < h; x++) {                                                                     \
                int t = 2 * y * h + x;                                                                        \
                float v = MAX(MAX(even[c][t], even[c][t + h]), MAX(odd[c][t], odd[c][t + h])) + b[c];         \
                out[(c * h + y) * h + x] = v > 0.0f ? v : 0.0f;                                               \
            }                                                                                                 \
}
CONV_POOL(conv1_pool, CH, N, C1)
CONV_POOL(conv2_pool, C1, H1, C2)

/* Logits of one parameter row on one image (given as shifted copies); returns the rounding scale,
   the sum over classes of |W| h + |b| through the last layer. */
static float forward(const float *restrict p, const float *restrict image, float *restrict logits) {
    const float *w1 = p, *b1 = w1 + C1 * CH * 25, *w2 = b1 + C1, *b2 = w2 + C2 * C1 * 25;
    const float *wf1 = b2 + C2, *bf1 = wf1 + F1 * FLAT, *wf2 = bf1 + F1, *bf2 = wf2 + F2 * F1, *wf3 = bf2 + F2, *bf3 = wf3 + NC * F2;
    float p1[C1 * H1 * H1], s1[SHIFTED(C1, H1)], f[FLAT], u1[F1], u2[F2];
    conv1_pool(image, w1, b1, p1);
    shifted(p1, C1, H1, s1);
    conv2_pool(s1, w2, b2, f);
    for (int u = 0; u < F1; u++) { float v = bf1[u] + dot(wf1 + u * FLAT, f, FLAT); u1[u] = v > 0.0f ? v : 0.0f; }
    for (int u = 0; u < F2; u++) { float v = bf2[u] + dot(wf2 + u * F1, u1, F1); u2[u] = v > 0.0f ? v : 0.0f; }
    float scale = 0.0f;
    for (int c = 0; c < NC; c++) {
        const float *w = wf3 + c * F2;
        float absum = fabsf(bf3[c]);
        for (int k = 0; k < F2; k++) absum += fabsf(w[k]) * u2[k];
        logits[c] = bf3[c] + dot(w, u2, F2);
        scale += absum;
    }
    return scale;
}

/* Judge guesses first .. first + rows - 1, drawing each row first when draw is set (into theta only for the
   guesses that are not rejected: status 1 or 2). status per guess:
   0 some sample clearly wrong, 1 every sample clearly right (logits[row][n][NC] and the largest
   rounding scale kept), 2 a close call (|margin| <= tolerance * rounding scale). */
void zoo_lenet_judge(float *theta, int64_t rows, int64_t width, int draw, uint64_t first, uint64_t key, float step,
                     const float *x, int n, const int64_t *y, float tolerance,
                     int8_t *status, float *logits, float *rounding) {
    float *images = malloc(sizeof(float) * n * SHIFTED(CH, N));
    /* A drawn row stays in this scratch row, in the core's cache, and is written out to theta only when
       the guess survives (about 9% of them); the rejected ones are never read. */
    float *scratch = draw ? malloc(sizeof(float) * width) : NULL;
    for (int s = 0; s < n; s++) shifted(x + s * CH * N * N, CH, N, images + s * SHIFTED(CH, N));
    for (int64_t r = 0; r < rows; r++) {
        float *p = draw ? scratch : theta + r * width, *lg = logits + r * n * NC, top = 0.0f;
        if (draw) zoo_philox_row(p, width, first + r, key, step);
        int8_t verdict = 1;
        for (int s = 0; s < n && verdict == 1; s++) {
            float scale = forward(p, images + s * SHIFTED(CH, N), lg + s * NC), other = -INFINITY;
            for (int c = 0; c < NC; c++) if (c != y[s] && lg[s * NC + c] > other) other = lg[s * NC + c];
            float margin = lg[s * NC + y[s]] - other, band = tolerance * scale;
            verdict = margin < -band ? 0 : fabsf(margin) <= band ? 2 : 1;
            top = MAX(scale, top);
        }
        status[r] = verdict;
        rounding[r] = top;
        if (draw && verdict != 0) memcpy(theta + r * width, p, sizeof(float) * width);
    }
    free(scratch);
    free(images);
}
