#!/usr/bin/python3
"""Write the data (.npy) and Keras specs of the whole-fit measurements (bench/run.sh):
W3 (20000 samples of datagen's W3 data, MLP 1001-64x4-1 + Dropout, RMSprop, validation
split 0.1) and W4 (Fashion-MNIST's 60000 training images scaled to [0, 1], MLP 784-64-64-10,
RMSprop, labels uint8). `nnc fit` and torch_fit.py read the same files. Also the specs of
the compile-time measurements: the 20- and 100-layer Dense chains of bench/compile_depth.sh
(width 32, relu, Adam + mse) and W4-wide (its planned workspace bounds the peak memory).

    fit_files.py DIR [W3_SAMPLES [W4_SAMPLES]]"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
import datagen  # noqa: E402


def dense(name, units, act, **extra):
    return {"class_name": "Dense", "config": dict(name=name, units=units, activation=act, **extra)}


def spec(layers, compile_config):
    return {"class_name": "Sequential", "config": {"name": "bench", "layers": layers},
            "compile_config": compile_config}


def rmsprop(lr):
    return {"class_name": "RMSprop", "config": {"learning_rate": lr}}


def main():
    out = sys.argv[1]
    n3 = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    n4 = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
    os.makedirs(out, exist_ok=True)
    x, y = datagen.w3_data(n3)
    np.save(os.path.join(out, "w3_x.npy"), np.ascontiguousarray(x, dtype=np.float32))
    np.save(os.path.join(out, "w3_y.npy"), np.ascontiguousarray(y, dtype=np.float32))
    layers = []
    for i in range(4):
        extra = {"batch_input_shape": [None, 1001]} if i == 0 else {}
        layers += [dense(f"d{i}", 64, "relu", **extra),
                   {"class_name": "Dropout", "config": {"name": f"p{i}", "rate": 0.05}}]
    layers.append(dense("d4", 1, "linear"))
    w3 = spec(layers, {"optimizer": rmsprop(0.0005), "loss": "mse", "metrics": ["mae"]})
    x, y, _ = datagen.fashion_mnist()
    x, y = x[:n4], y[:n4]
    np.save(os.path.join(out, "w4_x.npy"), np.ascontiguousarray(x, dtype=np.float32))
    np.save(os.path.join(out, "w4_y.npy"), y.reshape(-1).astype(np.uint8))
    w4 = spec([dense("d0", 64, "relu", batch_input_shape=[None, 784]), dense("d1", 64, "relu"),
               dense("d2", 10, "linear")],
              {"optimizer": rmsprop(0.001),
               "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
               "metrics": ["accuracy"]})
    w4w = spec([dense("d0", 512, "relu", batch_input_shape=[None, 784]), dense("d1", 512, "relu"),
                dense("d2", 10, "linear")], w4["compile_config"])
    specs = {"w3.json": w3, "w4.json": w4, "w4wide.json": w4w}
    for depth in (20, 100):  # bench/compile_depth.sh's chains
        layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 32], "name": "input_layer"}}]
        layers += [dense(f"dense_{i}", 32, "relu") for i in range(depth)]
        specs[f"deep{depth}.json"] = spec(layers, {"optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.001}},
                                                  "loss": "mean_squared_error", "metrics": ["mae"]})
    for name, s in specs.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(s, f, indent=1)


if __name__ == "__main__":
    main()
