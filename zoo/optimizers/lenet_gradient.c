/* LeNet training for a population on the CPU (zoo/optimizers/lenet_gradient.py): per model, per sample, the forward
   pass with what its backward pass needs (lenet_forward.h: each pooling window's argmax), then the gradient of
   the cross-entropy, all in the core's cache. Max-pooling passes its gradient to one input per window, so
   the backward pass through both convolutions touches only those inputs: a quarter of the positions.
   Compiled with zoo/models/lenet_forward.c, whose folder is then on the include path. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "lenet_forward.h"

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
            zoo_lenet_forward(p, image, &s);
            total += backward(p, image, &s, y[k], 1.0f / (float)b, g);
        }
        loss[i] = total / (float)b;
    }
}
