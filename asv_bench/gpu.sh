#!/bin/sh
# On a machine with one CUDA GPU, in well under 8 minutes: the reference design's and zoo's Guess & Check
# guesses/s (LeNet-0.5, two-class MNIST, n = 2, 16, 32), pattern-search rounds/s (Table 4: LeNet-1,
# ten-class MNIST, n = 100 and 1,000) and SGD epochs/s (Tables 2 and 3: 1,500 LeNet-0.5 models, the
# reference's population at batch 2, two-class MNIST and CIFAR-10, n = 2 and 16), side by side, each
# with the peak GPU memory.
# Usage: sh asv_bench/gpu.sh [--data-root FOLDER]
set -e
zoo speed --device cuda --n 2 16 32 --seconds 2 --rounds 2 "$@"
zoo speed --search --device cuda --optimizer pattern_search --task mnist --n 100 1000 --seconds 2 --rounds 2 "$@"
zoo speed --sgd --device cuda --task mnist cifar10 --n 2 16 --models 1500 --seconds 2 --rounds 2 "$@"
