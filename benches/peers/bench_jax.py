"""SmoothGrad in JAX on CPU: the whole estimator (noise, batched gradient, mean) under one
`jax.jit`, JAX's documented way to run fast.

    python bench_jax.py WORKLOAD [N_IMAGES] [SAMPLES] [THREADS]

XLA's CPU thread pool is limited to THREADS through XLA_FLAGS before JAX starts.
"""
import os
import sys

threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
os.environ.setdefault(
    "XLA_FLAGS",
    f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from workloads import SIGMA, WORKLOADS, best_of_three, inputs, report, weights  # noqa: E402


def forward_fn(name):
    layers = WORKLOADS[name][1]
    p = {k: jnp.asarray(v) for k, v in weights(name).items()}

    def forward(x):
        for i, layer in enumerate(layers):
            kind = layer[0]
            if kind == "conv":
                pad = layer[4]
                x = jax.lax.conv_general_dilated(
                    x, p[f"{i}.weight"], (1, 1), [(pad, pad), (pad, pad)],
                    dimension_numbers=("NCHW", "OIHW", "NCHW"))
                x = x + p[f"{i}.bias"][None, :, None, None]
            elif kind == "linear":
                x = x @ p[f"{i}.weight"].T + p[f"{i}.bias"]
            elif kind == "relu":
                x = jax.nn.relu(x)
            elif kind == "maxpool":
                k = layer[1]
                x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, k, k), (1, 1, k, k),
                                          "VALID")
            elif kind == "flatten":
                x = x.reshape(x.shape[0], -1)
        return x

    return forward


def main():
    name = sys.argv[1]
    n_images = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    forward = forward_fn(name)
    xs = jnp.asarray(inputs(name, n_images))
    targets = np.asarray(jnp.argmax(forward(xs), axis=1))

    def class_score(batch, target):
        return forward(batch)[:, target].sum()

    @jax.jit
    def smoothgrad(x, target, key):
        noisy = x[None] + SIGMA * jax.random.normal(key, (samples, *x.shape), x.dtype)
        return jax.grad(class_score)(noisy, target).mean(axis=0)

    keys = jax.random.split(jax.random.PRNGKey(0), n_images)
    smoothgrad(xs[0], targets[0], keys[0]).block_until_ready()

    def run_all():
        for i in range(n_images):
            smoothgrad(xs[i], targets[i], keys[i]).block_until_ready()

    report("jax", name, n_images, samples, best_of_three(run_all))


if __name__ == "__main__":
    main()
