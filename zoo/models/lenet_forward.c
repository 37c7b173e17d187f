/* LeNet's forward pass for one model and one sample (lenet_forward.h), and the logits of chosen rows of a
   population on every sample (zoo/models/lenet_compiled.py), one model at a time in the core's cache. */
#include <string.h>
#include "dot.h"
#include "lenet_forward.h"

typedef float v8 __attribute__((vector_size(32)));  /* eight floats, in a register (GCC and Clang) */
#define START(k, zs) (8 * (k) + 8 <= (zs) ? 8 * (k) : (zs) - 8)  /* the k-th eight outputs of a row */

/* 5x5 valid convolution of CIN channels of SIDE x SIDE into COUT channels, bias included: a whole output row
   of every channel at a time, eight outputs to a register, each input read once for all channels (the last
   eight of a row may overlap the ones before; a row of fewer than eight is done one by one). */
#define CONV(NAME, CIN, SIDE, COUT)                                                                          \
static void NAME(const float *restrict in, const float *restrict w, const float *restrict b, float *restrict z) { \
    enum { zs = SIDE - 4 };                                                                                  \
    for (int y = 0; y < zs; y++) {                                                                           \
        if (zs < 8) {                                                                                        \
            for (int c = 0; c < COUT; c++)                                                                   \
                for (int x = 0; x < zs; x++) {                                                               \
                    float v = b[c];                                                                          \
                    for (int ci = 0; ci < CIN; ci++)                                                         \
                        for (int ky = 0; ky < 5; ky++)                                                       \
                            for (int kx = 0; kx < 5; kx++)                                                   \
                                v += w[((c * CIN + ci) * 5 + ky) * 5 + kx] * in[(ci * SIDE + y + ky) * SIDE + x + kx]; \
                    z[(c * zs + y) * zs + x] = v;                                                            \
                }                                                                                            \
            continue;                                                                                        \
        }                                                                                                    \
        enum { blocks = (zs + 7) / 8 };                                                                      \
        v8 acc[blocks][COUT];                                                                                \
        for (int k = 0; k < blocks; k++)                                                                     \
            for (int c = 0; c < COUT; c++) acc[k][c] = (v8){0} + b[c];                                       \
        for (int ci = 0; ci < CIN; ci++)                                                                     \
            for (int ky = 0; ky < 5; ky++)                                                                   \
                for (int kx = 0; kx < 5; kx++) {                                                             \
                    v8 row[blocks];                                                                          \
                    for (int k = 0; k < blocks; k++)                                                         \
                        memcpy(&row[k], in + (ci * SIDE + y + ky) * SIDE + START(k, zs) + kx, sizeof row[k]); \
                    for (int c = 0; c < COUT; c++) {                                                         \
                        float wv = w[((c * CIN + ci) * 5 + ky) * 5 + kx];                                    \
                        for (int k = 0; k < blocks; k++) acc[k][c] += wv * row[k];                           \
                    }                                                                                        \
                }                                                                                            \
        for (int k = 0; k < blocks; k++)                                                                     \
            for (int c = 0; c < COUT; c++) memcpy(z + (c * zs + y) * zs + START(k, zs), &acc[k][c], sizeof acc[k][c]); \
    }                                                                                                        \
}
CONV(conv1, CH, N, C1)
CONV(conv2, C1, H1, C2)

/* 2x2 max-pooling, then ReLU (the same as ReLU then pooling: both are monotone); the first of equal maxima
   in row-major order is the argmax, as in torch's max_pool2d. */
static void pool_relu(const float *restrict z, int channels, int zs, float *restrict a, int8_t *restrict arg) {
    int h = zs / 2;
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++) {
            const float *top = z + (c * zs + 2 * y) * zs, *bottom = top + zs;
            for (int x = 0; x < h; x++) {  /* without branches: the first maximum of each pair, then of the two */
                float p = top[2 * x], q = top[2 * x + 1], r = bottom[2 * x], t = bottom[2 * x + 1];
                int su = q > p, sl = t > r;
                float upper = su ? q : p, lower = sl ? t : r;
                int low = lower > upper;
                float best = low ? lower : upper;
                a[(c * h + y) * h + x] = best > 0.0f ? best : 0.0f;
                arg[(c * h + y) * h + x] = (int8_t)(low * (2 + sl) + (1 - low) * su);
            }
        }
}

static void dense_relu(const float *restrict w, const float *restrict b, const float *restrict in, int n_in, int n_out,
                       float *restrict out, int relu) {
    for (int u = 0; u < n_out; u++) {
        float v = b[u] + dot(w + u * n_in, in, n_in);
        out[u] = relu && v < 0.0f ? 0.0f : v;
    }
}

void zoo_lenet_forward(const float *restrict p, const float *restrict image, Activations *restrict s) {
    float z1[C1 * Z1 * Z1], z2[C2 * Z2 * Z2];
    conv1(image, p + W1, p + B1, z1);
    pool_relu(z1, C1, Z1, s->a1, s->arg1);
    conv2(s->a1, p + W2, p + B2, z2);
    pool_relu(z2, C2, Z2, s->a2, s->arg2);
    dense_relu(p + WF1, p + BF1, s->a2, FLAT, F1, s->u1, 1);
    dense_relu(p + WF2, p + BF2, s->u1, F1, F2, s->u2, 1);
    dense_relu(p + WF3, p + BF3, s->u2, F2, NC, s->logits, 0);
}

/* Logits of each listed row of theta on every sample of x: logits[count][n][NC]. */
void zoo_lenet_logits(const float *theta, int64_t width, const int64_t *rows, int64_t count, const float *x, int n,
                      float *logits) {
    Activations s;
    for (int64_t i = 0; i < count; i++)
        for (int k = 0; k < n; k++) {
            zoo_lenet_forward(theta + rows[i] * width, x + (int64_t)k * CH * N * N, &s);
            memcpy(logits + (i * n + k) * NC, s.logits, sizeof s.logits);
        }
}
