"""The project's four benchmark workloads, for the peer scripts: the same layers as
src/workloads.rs (mlp, lenet, cifar, vgg64), NCHW, conv weights OIHW, linear weights [out, in].

Weight values do not affect timing; they are He-initialised from a NumPy seed so every peer runs
the same network. The FLOP count is the one `smoothgrad bench` reports: twice the multiply-adds
of one forward pass, and "effective" GFLOP/s count forward + input-gradient backward as 2x that.
"""
import numpy as np

# name: (input shape CHW, layers). ("conv", cin, cout, kernel, padding), ("maxpool", k),
# ("linear", fin, fout), ("relu",), ("flatten",).
WORKLOADS = {
    "mlp": ((1, 28, 28), [
        ("flatten",), ("linear", 784, 256), ("relu",), ("linear", 256, 256), ("relu",),
        ("linear", 256, 10)]),
    "lenet": ((1, 28, 28), [
        ("conv", 1, 16, 3, 1), ("relu",), ("maxpool", 2),
        ("conv", 16, 32, 3, 1), ("relu",), ("maxpool", 2),
        ("flatten",), ("linear", 1568, 10)]),
    "cifar": ((3, 32, 32), [
        ("conv", 3, 32, 3, 1), ("relu",), ("conv", 32, 32, 3, 1), ("relu",), ("maxpool", 2),
        ("conv", 32, 64, 3, 1), ("relu",), ("conv", 64, 64, 3, 1), ("relu",), ("maxpool", 2),
        ("flatten",), ("linear", 4096, 128), ("relu",), ("linear", 128, 10)]),
    "vgg64": ((3, 64, 64), [
        ("conv", 3, 32, 3, 1), ("relu",), ("maxpool", 2),
        ("conv", 32, 64, 3, 1), ("relu",), ("maxpool", 2),
        ("conv", 64, 128, 3, 1), ("relu",), ("maxpool", 2),
        ("conv", 128, 128, 3, 1), ("relu",), ("maxpool", 2),
        ("flatten",), ("linear", 2048, 256), ("relu",), ("linear", 256, 10)]),
}

SIGMA = 0.15


def weights(name, seed=0):
    """State-dict-named weights: N(0, 2/fan_in) weights, N(0, 0.01^2) biases."""
    rng = np.random.default_rng(seed)
    out = {}
    for i, layer in enumerate(WORKLOADS[name][1]):
        if layer[0] == "conv":
            _, cin, cout, k, _ = layer
            out[f"{i}.weight"] = rng.normal(0, np.sqrt(2 / (cin * k * k)), (cout, cin, k, k))
            out[f"{i}.bias"] = rng.normal(0, 0.01, cout)
        elif layer[0] == "linear":
            _, fin, fout = layer
            out[f"{i}.weight"] = rng.normal(0, np.sqrt(2 / fin), (fout, fin))
            out[f"{i}.bias"] = rng.normal(0, 0.01, fout)
    return {k: v.astype(np.float32) for k, v in out.items()}


def inputs(name, n, seed=1):
    """`n` uniform [0, 1) inputs, NCHW float32."""
    shape = WORKLOADS[name][0]
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def forward_flops(name):
    """2 x multiply-adds of one sample's forward pass (convs and linears)."""
    (_, h, w), layers = WORKLOADS[name]
    flops = 0
    for layer in layers:
        if layer[0] == "conv":
            _, cin, cout, k, _ = layer
            flops += 2 * cin * cout * k * k * h * w
        elif layer[0] == "maxpool":
            h, w = h // layer[1], w // layer[1]
        elif layer[0] == "linear":
            flops += 2 * layer[1] * layer[2]
    return flops


def best_of_three(run_all):
    """Seconds of the fastest of three calls of `run_all` (after the caller's warm-up)."""
    import time

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run_all()
        best = min(best, time.perf_counter() - t0)
    return best


def report(peer, name, n_images, samples, seconds):
    """The one line every bench prints (the same format as `smoothgrad bench`)."""
    rate = n_images / seconds
    gflops = rate * samples * 2 * forward_flops(name) / 1e9
    print(f"{peer} {name}: {rate:.2f} explanations/s ({samples} samples), "
          f"~{gflops:.1f} GFLOP/s effective")
