#!/usr/bin/env bash
# The main job: install what nnc and its test suite need, build it, train the
# Fashion-MNIST MLP with Keras's fit loop and evaluate it on the test set.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential cmake pkg-config \
  llvm-dev libcjson-dev check zlib1g-dev dataset-fashion-mnist \
  clang-format clang libclang-rt-14-dev strace python3 >/dev/null # the last five: tests/run.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
data=/usr/share/datasets/fashion-mnist
mkdir -p out
./build/nnc compile specs/fashion_mnist_mlp.json --summary
./build/nnc fit specs/fashion_mnist_mlp.json \
  --x "$data/train-images-idx3-ubyte.gz" --y "$data/train-labels-idx1-ubyte.gz" --x-divide 255 \
  --validation-split 0.1 --epochs "${EPOCHS:-5}" --batch-size 32 --seed 1 \
  --x-test "$data/t10k-images-idx3-ubyte.gz" --y-test "$data/t10k-labels-idx1-ubyte.gz" \
  --history out/fashion_mnist_history.json --weights-out out/fashion_mnist.safetensors
