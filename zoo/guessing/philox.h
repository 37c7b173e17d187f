/* Philox4x32-10 parameter rows (philox.c), shared by the LeNet judge (lenet.c). */
#ifndef ZOO_PHILOX_H
#define ZOO_PHILOX_H
#include <stdint.h>

/* Guess `guess` of the stream keyed by `key`: `width` parameters into `row`. */
void zoo_philox_row(float *row, int64_t width, uint64_t guess, uint64_t key, float step);

/* Guesses first .. first + rows - 1 into the rows of `out` (rows x width, row-major). */
void zoo_philox_fill(float *out, int64_t rows, int64_t width, uint64_t first, uint64_t key, float step);

/* The same rows one counter at a time, without vector lanes: the reference the vector paths are tested against. */
void zoo_philox_fill_portable(float *out, int64_t rows, int64_t width, uint64_t first, uint64_t key, float step);

#endif
