#!/usr/bin/python3
"""Trains Quantscope's demo model: a 64-128-64-10 ReLU MLP on the 8x8 handwritten digits.

Data: scikit-learn's copy of the UCI optical digits (1,797 images), shipped by Debian's
python3-sklearn as sklearn/datasets/data/digits.csv.gz. Only numpy is used for training,
so the result is reproducible from Debian packages alone:

    /usr/bin/python3 resources/demo/train_digits.py

Writes, next to this script:
  digits_mlp.safetensors  weights as PyTorch Linear layers (fc1.weight [128, 64], ...), F32
  digits_mlp.onnx         the same network as MatMul/Add/Relu with [in, out] initializers
  digits_test_x.npy       held-out inputs [N, 64], F32, pixel values scaled to [0, 1]
  digits_test_y.npy       held-out labels [N], int64
and prints the float test accuracy recorded in README.md.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
SIZES = [64, 128, 64, 10]
SEED = 20261123
TEST_FRACTION = 0.25
EPOCHS = 60
BATCH = 32
LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4


def load_digits():
    with gzip.open(DIGITS, "rt") as f:
        data = np.loadtxt(f, delimiter=",", dtype=np.float64)
    x = (data[:, :64] / 16.0).astype(np.float32)  # pixels are 0..16
    y = data[:, 64].astype(np.int64)
    return x, y


def split(x, y, rng):
    order = rng.permutation(len(x))
    n_test = int(round(len(x) * TEST_FRACTION))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def init_params(rng):
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in)).astype(np.float32)
        params.append([w, np.zeros(fan_out, dtype=np.float32)])
    return params


def forward(params, x):
    """Returns the activations of every layer; the last entry is the logits."""
    acts = [x]
    for i, (w, b) in enumerate(params):
        z = acts[-1] @ w.T + b
        acts.append(np.maximum(z, 0.0) if i < len(params) - 1 else z)
    return acts


def backward(params, acts, y):
    probs = np.exp(acts[-1] - acts[-1].max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    grad = probs
    grad[np.arange(len(y)), y] -= 1.0
    grad /= len(y)
    grads = []
    for i in range(len(params) - 1, -1, -1):
        w, _ = params[i]
        grads.append((grad.T @ acts[i] + WEIGHT_DECAY * w, grad.sum(axis=0)))
        if i > 0:
            grad = (grad @ w) * (acts[i] > 0)
    return grads[::-1]


def train(params, x, y, rng):
    velocity = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    for epoch in range(EPOCHS):
        lr = LR * 0.5 * (1.0 + np.cos(np.pi * epoch / EPOCHS))
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            grads = backward(params, forward(params, x[idx]), y[idx])
            for p, v, g in zip(params, velocity, grads):
                for k in range(2):
                    v[k] = MOMENTUM * v[k] - lr * g[k].astype(np.float32)
                    p[k] += v[k]


def accuracy(params, x, y):
    return float((forward(params, x)[-1].argmax(axis=1) == y).mean())


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name, arr in tensors:
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, arr in tensors:
            f.write(np.ascontiguousarray(arr, dtype="<f4").tobytes())


def save_onnx(path, params, test_acc):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev = [], [], "input"
    for i, (w, b) in enumerate(params, start=1):
        wt = numpy_helper.from_array(np.ascontiguousarray(w.T), f"fc{i}.weight")  # [in, out]
        bt = numpy_helper.from_array(b, f"fc{i}.bias")
        inits += [wt, bt]
        nodes.append(helper.make_node("MatMul", [prev, wt.name], [f"fc{i}_mm"], name=f"fc{i}"))
        out = "logits" if i == len(params) else f"fc{i}_out"
        nodes.append(helper.make_node("Add", [f"fc{i}_mm", bt.name], [out], name=f"fc{i}_add"))
        if i < len(params):
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"], name=f"relu{i}"))
            prev = f"relu{i}"
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="quantscope-train_digits",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, {"test_accuracy": f"{test_acc:.4f}"})
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    rng = np.random.default_rng(SEED)
    x, y = load_digits()
    x_train, y_train, x_test, y_test = split(x, y, rng)
    params = init_params(rng)
    train(params, x_train, y_train, rng)
    train_acc, test_acc = accuracy(params, x_train, y_train), accuracy(params, x_test, y_test)

    tensors = [(f"fc{i}.{k}", p[j]) for i, p in enumerate(params, start=1)
               for j, k in enumerate(("weight", "bias"))]
    metadata = {"source": "sklearn digits.csv.gz (UCI optical digits, 8x8)",
                "architecture": "MLP 64-128-64-10, ReLU, PyTorch Linear layout [out, in]",
                "train_samples": str(len(y_train)), "test_samples": str(len(y_test)),
                "test_accuracy": f"{test_acc:.4f}", "seed": str(SEED)}
    save_safetensors(os.path.join(HERE, "digits_mlp.safetensors"), tensors, metadata)
    save_onnx(os.path.join(HERE, "digits_mlp.onnx"), params, test_acc)
    np.save(os.path.join(HERE, "digits_test_x.npy"), x_test.astype("<f4"))
    np.save(os.path.join(HERE, "digits_test_y.npy"), y_test.astype("<i8"))
    print(f"train accuracy {train_acc:.4f} ({len(y_train)} samples)")
    print(f"test accuracy  {test_acc:.4f} ({len(y_test)} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
