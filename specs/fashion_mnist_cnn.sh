#!/usr/bin/env bash
# The second job: train Keras's classic convnet (specs/fashion_mnist_cnn.json) on
# Fashion-MNIST with Keras's fit loop and evaluate it on the test set. Like the
# first job it runs scripts/setup.sh (missing packages, then the build).
# EPOCHS (default 6) and THREADS (default: all cores; results are bit-identical
# for any thread count) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
data=/usr/share/datasets/fashion-mnist
mkdir -p out
./build/nnc compile specs/fashion_mnist_cnn.json --summary
./build/nnc fit specs/fashion_mnist_cnn.json \
  --x "$data/train-images-idx3-ubyte.gz" --y "$data/train-labels-idx1-ubyte.gz" --x-divide 255 \
  --validation-split 0.1 --epochs "${EPOCHS:-6}" --batch-size 64 --seed 1 --threads "${THREADS:-$(nproc)}" \
  --x-test "$data/t10k-images-idx3-ubyte.gz" --y-test "$data/t10k-labels-idx1-ubyte.gz" \
  --history out/fashion_mnist_cnn_history.json --weights-out out/fashion_mnist_cnn.safetensors
