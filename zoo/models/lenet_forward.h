/* LeNet's forward pass for one model and one sample (lenet_forward.c), shared by the C kernels that run LeNet
   populations on the CPU: the logits of zoo.models.lenet_compiled and the training gradient of
   zoo/optimizers/lenet_gradient.c, which needs what the pass keeps for its backward pass (each pooling
   window's argmax).

   The shape is fixed at compile time (-DCH -DN -DC1 -DC2 -DF1 -DF2 -DNC: input channels and side, conv
   channels, dense units, classes), the parameter row laid out as zoo.models.lenet.LeNet's blocks. */
#ifndef ZOO_LENET_FORWARD_H
#define ZOO_LENET_FORWARD_H

#include <stdint.h>

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

/* Fills s from parameter row p and one image (CH x N x N). */
void zoo_lenet_forward(const float *restrict p, const float *restrict image, Activations *restrict s);

#endif
