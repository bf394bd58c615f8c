#!/usr/bin/env bash
# The main job: install what nnc and its test suite need, build it, train the
# Fashion-MNIST MLP with Keras's fit loop and evaluate it on the test set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh # the packages nnc and its tests need (if missing), then build/
data=/usr/share/datasets/fashion-mnist
mkdir -p out
./build/nnc compile specs/fashion_mnist_mlp.json --summary
./build/nnc fit specs/fashion_mnist_mlp.json \
  --x "$data/train-images-idx3-ubyte.gz" --y "$data/train-labels-idx1-ubyte.gz" --x-divide 255 \
  --validation-split 0.1 --epochs "${EPOCHS:-5}" --batch-size 32 --seed 1 \
  --x-test "$data/t10k-images-idx3-ubyte.gz" --y-test "$data/t10k-labels-idx1-ubyte.gz" \
  --history out/fashion_mnist_history.json --weights-out out/fashion_mnist.safetensors
