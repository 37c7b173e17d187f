/* Logits of pattern-search moves of one fc1 parameter of LeNet (zoo/models/lenet_moves.py), from the
   point's stored activations, one (move, sample) row at a time in the core's cache.

   Move m changes fc1 unit unit[m]'s pre-activation on sample s by delta[m] * feat[s][column[m]] (a
   weight) or by delta[m] (column[m] < 0: the bias). Where the unit's output does not change, the row is
   the point's logits, copied; elsewhere fc2's pre-activations change by that change times column
   unit[m] of fc2's weights, and the logits by fc3 of the change of fc2's outputs. */
#include <stdint.h>
#include <string.h>
#include "dot.h"

/* a1 [n][f1], feat [n][flat], w2t [f1][f2] (row u: fc2's weights from unit u), a2 and h2 [n][f2],
   a3 [n][nc], w3 [nc][f2]; out [moves][n][nc]. scratch: f2 floats. */
void zoo_lenet_fc1_moves(int64_t moves, int64_t n, int64_t f1, int64_t flat, int64_t f2, int64_t nc,
                         const int64_t *unit, const int64_t *column, const float *delta,
                         const float *a1, const float *feat, const float *w2t, const float *a2, const float *h2,
                         const float *a3, const float *w3, float *out, float *scratch) {
    for (int64_t m = 0; m < moves; m++) {
        const float *w = w2t + unit[m] * f2;
        for (int64_t s = 0; s < n; s++) {
            const float a = a1[s * f1 + unit[m]];
            const float change = column[m] < 0 ? delta[m] : delta[m] * feat[s * flat + column[m]];
            const float moved = a + change;
            const float dh = (moved > 0.0f ? moved : 0.0f) - (a > 0.0f ? a : 0.0f);
            float *row = out + (m * n + s) * nc;
            const float *base = a3 + s * nc;
            if (dh == 0.0f) {
                memcpy(row, base, sizeof(float) * nc);
                continue;
            }
            const float *pre = a2 + s * f2, *post = h2 + s * f2;
            for (int64_t j = 0; j < f2; j++) {
                const float v = pre[j] + dh * w[j];
                scratch[j] = (v > 0.0f ? v : 0.0f) - post[j];
            }
            for (int64_t c = 0; c < nc; c++) row[c] = base[c] + dot(scratch, w3 + c * f2, f2);
        }
    }
}

