"""SmoothGrad in TensorFlow (CPU) with Xplique's `SmoothGrad`, which runs its batched gradients
in compiled `tf.function`s.

    python bench_tf.py WORKLOAD [N_IMAGES] [SAMPLES] [THREADS]

Keras takes NHWC inputs: the model is the same network with HWIO kernels, and a Permute before
Flatten keeps PyTorch's CHW flattening so the weights mean the same.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from xplique.attributions import SmoothGrad  # noqa: E402

from workloads import SIGMA, WORKLOADS, best_of_three, inputs, report, weights  # noqa: E402


def build(name):
    (c, h, w), layers = WORKLOADS[name]
    ws = weights(name)
    model = tf.keras.Sequential([tf.keras.Input((h, w, c))])
    assign = []
    for i, layer in enumerate(layers):
        kind = layer[0]
        if kind == "conv":
            conv = tf.keras.layers.Conv2D(layer[2], layer[3], padding="same")
            model.add(conv)
            assign.append((conv, [ws[f"{i}.weight"].transpose(2, 3, 1, 0), ws[f"{i}.bias"]]))
        elif kind == "linear":
            dense = tf.keras.layers.Dense(layer[2])
            model.add(dense)
            assign.append((dense, [ws[f"{i}.weight"].T, ws[f"{i}.bias"]]))
        elif kind == "relu":
            model.add(tf.keras.layers.ReLU())
        elif kind == "maxpool":
            model.add(tf.keras.layers.MaxPooling2D(layer[1]))
        elif kind == "flatten":
            model.add(tf.keras.layers.Permute((3, 1, 2)))
            model.add(tf.keras.layers.Flatten())
    for layer, values in assign:
        layer.set_weights(values)
    return model


def main():
    name = sys.argv[1]
    n_images = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    model = build(name)
    xs = inputs(name, n_images).transpose(0, 2, 3, 1)
    logits = model(xs).numpy()
    ys = tf.one_hot(np.argmax(logits, axis=1), logits.shape[1]).numpy()
    explainer = SmoothGrad(model, nb_samples=samples, noise=SIGMA, batch_size=samples)
    explainer.explain(xs[:1], ys[:1])

    def run_all():
        for i in range(n_images):
            explainer.explain(xs[i:i + 1], ys[i:i + 1])

    report("tf+xplique", name, n_images, samples, best_of_three(run_all))


if __name__ == "__main__":
    main()
