/* A dot product in LANES partial sums, so that the compiler can vectorize it: shared by zoo's C kernels
   (zoo/compiled.py puts this folder on every kernel's include path). */
#ifndef ZOO_DOT_H
#define ZOO_DOT_H

#define LANES 16

static inline float dot(const float *restrict a, const float *restrict b, int n) {
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (; i < n; i++) s += a[i] * b[i];
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

#endif
