/* LeNet training for a population on the CPU (zoo/optimizers/lenet_gradient.py): per model, per sample, the forward
   pass with what its backward pass needs (each pooling window's argmax), then the gradient of the
   cross-entropy, all in the core's cache. Max-pooling passes its gradient to one input per window, so
   the backward pass through both convolutions touches only those inputs: a quarter of the positions.

   The shape is fixed at compile time (-DCH -DN -DC1 -DC2 -DF1 -DF2 -DNC: input channels and side, conv
   channels, dense units, classes), the parameter row laid out as zoo.models.lenet.LeNet's blocks. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "dot.h"

#define Z1 (N - 4)
#define H1 (Z1 / 2)
#define Z2 (H1 - 4)
#define S2 (Z2 / 2)
#define FLAT (C2 * S2 * S2)

/* Offsets of the blocks in a parameter row. */
#define W1 0
#define B1 (W1 + C1 * CH * 25)
#define W2 (B1 + C1)
#define B2 (W2 + C2 * C1 * 25)
#define WF1 (B2 + C2)
#define BF1 (WF1 + F1 * FLAT)
#define WF2 (BF1 + F1)
#define BF2 (WF2 + F2 * F1)
#define WF3 (BF2 + F2)
#define BF3 (WF3 + NC * F2)

typedef struct {
    float a1[C1 * H1 * H1];  /* ReLU of the pooled first convolution */
    int8_t arg1[C1 * H1 * H1];  /* which of the window's four inputs was the maximum */
    float a2[FLAT];
    int8_t arg2[FLAT];
    float u1[F1], u2[F2], logits[NC];
} Activations;

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

static void forward(const float *restrict p, const float *restrict image, Activations *restrict s) {
    float z1[C1 * Z1 * Z1], z2[C2 * Z2 * Z2];
    conv1(image, p + W1, p + B1, z1);
    pool_relu(z1, C1, Z1, s->a1, s->arg1);
    conv2(s->a1, p + W2, p + B2, z2);
    pool_relu(z2, C2, Z2, s->a2, s->arg2);
    dense_relu(p + WF1, p + BF1, s->a2, FLAT, F1, s->u1, 1);
    dense_relu(p + WF2, p + BF2, s->u1, F1, F2, s->u2, 1);
    dense_relu(p + WF3, p + BF3, s->u2, F2, NC, s->logits, 0);
}

/* Backward through a dense layer out = w in + b (then ReLU when relu_out is given: the layer's output): adds
   the weight and bias gradients to gw and gb, and writes the input's gradient to gin. */
static void dense_backward(const float *restrict w, const float *restrict in, const float *restrict relu_out,
                           const float *restrict dout, int n_in, int n_out, float *restrict gw, float *restrict gb,
                           float *restrict gin) {
    memset(gin, 0, n_in * sizeof *gin);
    for (int u = 0; u < n_out; u++) {
        float d = relu_out == NULL || relu_out[u] > 0.0f ? dout[u] : 0.0f;
        gb[u] += d;
        for (int k = 0; k < n_in; k++) { gw[u * n_in + k] += d * in[k]; gin[k] += d * w[u * n_in + k]; }
    }
}

/* Backward through a 5x5 valid convolution of c_in channels of side x side, 2x2 max-pooling and ReLU (a, arg:
   the layer's output and argmaxes, pooled side x pooled side per channel; da: its gradient), at each window's
   maximum only: adds the weight and bias gradients to gw and gb, and the input's to gin unless it is NULL. */
static void conv_pool_backward(const float *restrict w, const float *restrict in, int c_in, int side,
                               const float *restrict a, const int8_t *restrict arg, const float *restrict da,
                               int c_out, int pooled, float *restrict gw, float *restrict gb, float *restrict gin) {
    for (int c = 0; c < c_out; c++)
        for (int i = 0; i < pooled * pooled; i++) {
            int at = c * pooled * pooled + i;
            float d = a[at] > 0.0f ? da[at] : 0.0f;
            if (d == 0.0f) continue;
            int y = 2 * (i / pooled) + arg[at] / 2, x = 2 * (i % pooled) + arg[at] % 2;
            gb[c] += d;
            for (int ci = 0; ci < c_in; ci++)
                for (int ky = 0; ky < 5; ky++)
                    for (int kx = 0; kx < 5; kx++) {
                        int wi = ((c * c_in + ci) * 5 + ky) * 5 + kx, ii = (ci * side + y + ky) * side + x + kx;
                        gw[wi] += d * in[ii];
                        if (gin != NULL) gin[ii] += d * w[wi];
                    }
        }
}

/* Adds the gradient of scale * cross-entropy(logits, label) to g; returns the cross-entropy. */
static float backward(const float *restrict p, const float *restrict image, const Activations *restrict s, int64_t label,
                      float scale, float *restrict g) {
    float top = s->logits[0], sum = 0.0f, g3[NC], gu2[F2], gu1[F1], ga2[FLAT], ga1[C1 * H1 * H1];
    for (int c = 1; c < NC; c++) top = s->logits[c] > top ? s->logits[c] : top;
    for (int c = 0; c < NC; c++) sum += expf(s->logits[c] - top);
    for (int c = 0; c < NC; c++) g3[c] = scale * (expf(s->logits[c] - top) / sum - (c == label ? 1.0f : 0.0f));
    dense_backward(p + WF3, s->u2, NULL, g3, F2, NC, g + WF3, g + BF3, gu2);
    dense_backward(p + WF2, s->u1, s->u2, gu2, F1, F2, g + WF2, g + BF2, gu1);
    dense_backward(p + WF1, s->a2, s->u1, gu1, FLAT, F1, g + WF1, g + BF1, ga2);
    memset(ga1, 0, sizeof ga1);
    conv_pool_backward(p + W2, s->a1, C1, H1, s->a2, s->arg2, ga2, C2, S2, g + W2, g + B2, ga1);
    conv_pool_backward(p + W1, image, CH, N, s->a1, s->arg1, ga1, C1, H1, g + W1, g + B1, NULL);  /* the input needs none */
    return top + logf(sum) - s->logits[label];
}

/* For each listed row of theta (rows[0 .. count)): its gradient row in grad (overwritten) of the mean
   cross-entropy over the b samples of x with labels y, and that mean in loss[i]. */
void zoo_lenet_train_gradient(const float *theta, float *grad, int64_t width, const int64_t *rows, int64_t count,
                              const float *x, int b, const int64_t *y, float *loss) {
    Activations s;
    for (int64_t i = 0; i < count; i++) {
        const float *p = theta + rows[i] * width;
        float *g = grad + rows[i] * width, total = 0.0f;
        memset(g, 0, sizeof(float) * width);
        for (int k = 0; k < b; k++) {
            const float *image = x + (int64_t)k * CH * N * N;
            forward(p, image, &s);
            total += backward(p, image, &s, y[k], 1.0f / (float)b, g);
        }
        loss[i] = total / (float)b;
    }
}

/* Logits of each listed row of theta on every sample of x: logits[count][n][NC]. */
void zoo_lenet_train_logits(const float *theta, int64_t width, const int64_t *rows, int64_t count, const float *x, int n,
                            float *logits) {
    Activations s;
    for (int64_t i = 0; i < count; i++)
        for (int k = 0; k < n; k++) {
            forward(theta + rows[i] * width, x + (int64_t)k * CH * N * N, &s);
            memcpy(logits + (i * n + k) * NC, s.logits, sizeof s.logits);
        }
}
